"""The HTTP API, one router per resource; `install` adds them in this order (the OpenAPI document's)."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.routes import (
    applications,
    audit,
    careers,
    community,
    decisions,
    divisions,
    documents,
    interviews,
    keys,
    notes,
    notifications,
    operations,
    portal,
    privacy,
    public_jobs,
    reports,
    requisitions,
    talent_pool,
    users,
)

ROUTERS = (operations, keys, users, audit, divisions, requisitions, applications, notes, interviews, decisions, privacy,
           notifications, reports, talent_pool, portal, public_jobs, careers, community, documents)


def install(app: FastAPI) -> None:
    for module in ROUTERS:
        app.include_router(module.router)
