"""The HTTP API, one router per resource; `install` adds them in this order (the OpenAPI document's)."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.routes import (
    applications,
    audit,
    decisions,
    divisions,
    interviews,
    keys,
    notifications,
    operations,
    portal,
    privacy,
    reports,
    requisitions,
    talent_pool,
)

ROUTERS = (operations, keys, audit, divisions, requisitions, applications, interviews, decisions, privacy,
           notifications, reports, talent_pool, portal)


def install(app: FastAPI) -> None:
    for module in ROUTERS:
        app.include_router(module.router)
