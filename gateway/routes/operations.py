"""Operations: liveness, readiness, Prometheus metrics, and the services' health for an admin."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from gateway import metrics
from gateway.deps import ADMIN, GATEWAY_ONLY, AnswerRoute, Rpc, gw, ok, roles
from gateway.errors import RETRY_AFTER_SECONDS
from gateway.openapi import Health, Ready, ServiceHealthList
from shared.contracts.caller import Caller
from shared.contracts.common import SERVICES

router = APIRouter(route_class=AnswerRoute, tags=["operations"])


@router.get("/healthz", responses=ok(Health), openapi_extra=GATEWAY_ONLY)
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", responses=ok(Ready))
async def readyz(request: Request, rpc: Rpc):
    g = gw(request)
    checks: dict[str, str] = {}

    async def check(name, coro):
        try:
            await asyncio.wait_for(coro, 3)
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks[name] = f"down: {type(exc).__name__}"

    checks["broker"] = "ok" if rpc.connected else "down"
    await asyncio.gather(
        check("redis", g.redis.ping()),
        check("mongo", g.mongo.admin.command("ping")),
        *(check(s, rpc.health(s, timeout=3)) for s in SERVICES),
    )
    failing = sorted(k for k, v in checks.items() if v != "ok")
    if failing:
        return JSONResponse(status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS}, content={
            "status": "unavailable", "failing": failing, "checks": checks,
            "error": {"code": "not_ready", "message": "not ready: " + ", ".join(failing) + " not answering"}})
    return {"status": "ready", "checks": checks}


@router.get("/metrics", response_class=PlainTextResponse, openapi_extra=GATEWAY_ONLY)
async def prometheus_metrics(rpc: Rpc):
    await metrics.refresh_queue_depths(rpc)
    body, content_type = metrics.render()
    return Response(content=body, media_type=content_type)


@router.get("/v1/admin/services", responses=ok(ServiceHealthList), openapi_extra=GATEWAY_ONLY)  # "down" rows
async def services_health(rpc: Rpc, caller: Annotated[Caller, Depends(roles(ADMIN))]):
    async def one(s):
        try:
            return {**await rpc.health(s, timeout=3), "status": "up"}
        except Exception as exc:  # noqa: BLE001
            return {"service": s, "status": "down", "error": str(exc)}
    return {"items": await asyncio.gather(*(one(s) for s in SERVICES))}
