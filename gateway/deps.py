"""What the routes depend on: the process's connections, the services (the RPC seam), the authenticated
caller and its role, the bounded query parameters, and the Idempotency-Key wrapper of every POST."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.datastructures import Default, DefaultPlaceholder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from gateway.connections import Gateway
from gateway.idempotency import idempotent
from gateway.openapi import Doc
from gateway.rpc import ServiceCalls
from shared.contracts.caller import Caller
from shared.contracts.common import MAX_PAGE, PageLimit
from shared.contracts.rpc import ADMIN, HR, INTERVIEWER, RECRUITER, STAFF  # noqa: F401 - the routes' roles
from shared.contracts.rpc import Rpc as Declared
from shared.errors import Forbidden, Unauthenticated


def gw(request: Request) -> Gateway:
    return request.app.state.gateway


async def services(request: Request) -> ServiceCalls:
    """The services, as create_app was given them (the real RPC client, or a test's fake). Async: FastAPI
    runs a plain function dependency in a worker thread."""
    return request.app.state.services


Rpc = Annotated[ServiceCalls, Depends(services)]


async def authenticated(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    g = gw(request)
    caller = await g.keys.authenticate(authorization[7:].strip())
    request.state.caller = caller
    # After authentication, so unknown keys cannot create buckets, and before the route does anything:
    # a limited request is a 429 and nothing else (every /v1 route depends on this, via roles()).
    await g.limiter.check(caller)
    return caller


def roles(*allowed: str):
    async def check(caller: Annotated[Caller, Depends(authenticated)]) -> Caller:
        if caller.role not in allowed:
            raise Forbidden(f"role '{caller.role}' may not do this; allowed: {', '.join(allowed)}")
        return caller
    return check


class CallerOf:
    """`caller: CallerOf[sourcing.GetRequisition]`: the authenticated caller, if the roles declared for that RPC
    (written once, in shared/contracts) allow it; checked here too so a refused key costs no call."""

    def __class_getitem__(cls, declared: Declared) -> Any:
        return Annotated[Caller, Depends(roles(*declared.roles))]


def ok(model: Any, status: int = 200) -> dict[int, dict]:
    """A route's success answer (`responses=ok(Model)`, with `status_code=` the same when not 200): for the
    OpenAPI document, and, through `AnswerRoute`, the model the answer is written with."""
    return {status: {"model": model, "description": "OK"}}


class AnswerRoute(APIRoute):
    """A route whose `responses=ok(Model)` names a service's answer model answers with that model as its
    `response_model`. Routes return what the services sent, already that model: FastAPI checks an instance
    without validating it again and writes it with pydantic's JSON serializer, where without a response
    model it walks the whole answer with `jsonable_encoder` (about 1 ms of a read's 3 ms of gateway CPU)."""

    def __init__(self, path: str, endpoint: Any, *, response_model: Any = Default(None),
                 responses: dict | None = None, status_code: int | None = None, **kwargs: Any):
        if isinstance(response_model, DefaultPlaceholder) and responses:
            declared = (responses.get(status_code or 200) or {}).get("model")
            # A service's answer model (shared/contracts), not one of the gateway's descriptions of what it
            # assembles itself (gateway/openapi.py `Doc`: an export, a health list), which the route returns as
            # a dict the description need not match field for field.
            if isinstance(declared, type) and issubclass(declared, BaseModel) and not issubclass(declared, Doc):
                response_model = declared
        super().__init__(path, endpoint, response_model=response_model, responses=responses,
                         status_code=status_code, **kwargs)


# What a route tells the OpenAPI document beyond its path and body (`openapi_extra=`; gateway/openapi.py reads
# and drops them): it looks an object up by its body or query (a requisition, a division), so it may be a 404
# with no id in its path; or it is answered by the gateway alone, with no service to be unavailable (no 503).
FINDS_BY_BODY = {"x-hireloop-finds-by-body": True}
GATEWAY_ONLY = {"x-hireloop-gateway-only": True}

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
Limit = Annotated[PageLimit, Query(description=f"page size (max {MAX_PAGE})")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]
DivisionQ = Annotated[str | None, Query(max_length=80)]
CandidateQ = Annotated[str, Query(min_length=1, max_length=100, description="the candidate whose records to list")]
StatusQ = Annotated[str | None, Query(max_length=40)]
FromQ = Annotated[str | None, Query(alias="from", max_length=40, description="ISO date: the period starts here")]
ToQ = Annotated[str | None, Query(alias="to", max_length=40, description="ISO date, after `from`: the period ends "
                                                                       "before it")]


async def idempotent_answer(request: Request, caller: Caller, key: str | None, body, produce,
                            shows_secret: bool = False):
    """`produce()` once per Idempotency-Key and request (gateway/idempotency.py)."""
    g = gw(request)
    # A patch's body counts as sent (a field left out is not a `null`: shared/contracts/commands.py RequisitionPatch).
    dumped = None if body is None else body.model_dump(mode="json",
                                                       exclude_unset=getattr(body, "SENDS_ONLY_SET", False))
    parts = [request.method, request.url.path, dumped]
    # The path's ids (application, interview, approval step, candidate, ...) find the record on erasure.
    return await idempotent(g.redis, g.settings.redis_key(), caller.key_id, key, parts, produce,
                            concerns=[str(v) for v in request.path_params.values()], shows_secret=shows_secret)


async def idempotent_call(request: Request, rpc: ServiceCalls, caller: Caller, key: str | None, body, status: int,
                          target: Any, **kwargs: Any):
    """A command forwarded to a service, once per Idempotency-Key; its answer with `status`."""
    async def produce():
        result = await rpc(target, caller, request, **kwargs)
        # A declared call answers its model; the idempotency record keeps the JSON that was sent.
        return JSONResponse(status_code=status, content=to_jsonable_python(result))
    return await idempotent_answer(request, caller, key, body, produce)
