"""The hireloop gateway: api-v1 over HTTP, commands and queries forwarded to services by RPC.

The gateway authenticates API keys, rate-limits them (gateway/ratelimit.py), checks the route's roles,
validates bodies against the shared contracts, and hands services a signed caller context; services
enforce object-level (division) scope themselves. Every RPC is bounded: a slow or absent service is a
503 with Retry-After.

Where things are: the routes, one router per resource, in gateway/routes/; what they depend on (the
caller, its role, the services) in gateway/deps.py; the seam to the services in gateway/rpc.py (a test
passes `create_app(settings, services=FakeServices())`, gateway/testing.py); error answers in
gateway/errors.py; the request context in gateway/middleware.py.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway import careers, console, docs, errors, limits, middleware, openapi, routes, telemetry
from gateway.connections import Gateway
from gateway.routes import careers as careers_routes
from gateway.routes import documents as documents_routes
from gateway.rpc import RpcServices, ServiceCalls
from gateway.templating import STATIC_DIR
from shared import crypto, tracing
from shared.config import Settings

MAX_BODY_BYTES = 1_000_000
# Routes that take a CV (10 MB) with their form: the careers site's and the public API's applications.
LARGER_BODIES = ((r"/careers/jobs/[^/]+/apply", careers.MAX_APPLICATION_BODY),
                 (r"/v1/public/jobs/[^/]+/applications", careers.MAX_APPLICATION_BODY),
                 (documents_routes.UPLOAD_PATH, documents_routes.MAX_UPLOAD_BODY))


@asynccontextmanager
async def lifespan(app: FastAPI):
    gateway = Gateway(app.state.settings)
    app.state.gateway = gateway
    services: ServiceCalls = app.state.services
    await gateway.start()
    await services.connect()  # the broker (a fake connects to nothing)
    try:
        yield
    finally:
        await console.close(app)
        await services.close()
        await gateway.stop()


def create_app(settings: Settings | None = None, services: ServiceCalls | None = None) -> FastAPI:
    """The gateway's ASGI app; `services` replaces the RPC client (tests: gateway/testing.py FakeServices).
    Without `settings` (each of uvicorn's worker processes), they are read from the environment here."""
    settings = settings or Settings.from_env()
    tracing.setup_tracing("gateway", settings)  # before the Mongo and Redis clients exist (instrumented then)
    crypto.configure(settings)
    app = FastAPI(
        title="hireloop gateway",
        version="1.0.0",
        description="The hiring loop's public API (api-v1). Auth: `Authorization: Bearer <api key>`.",
        lifespan=lifespan,
        telemetry=telemetry.telemetry_config(),
        docs_url=None, redoc_url=None,  # FastAPI's own load from a CDN: gateway/docs.py serves them offline
    )
    app.state.settings = settings
    app.state.services = services if services is not None else RpcServices(app.state.settings)
    errors.install(app)
    middleware.install(app)
    routes.install(app)
    console.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    limits.install(app, MAX_BODY_BYTES, LARGER_BODIES, page=careers_routes.too_large_page)
    openapi.install(app)
    docs.install(app)
    return app
