"""What the OpenAPI document says beyond what the routes declare: every error status a route can give, in
api-v1's error shape, and Bearer auth as a security scheme. The models below describe the success answers;
each route names its own (`responses=ok(Model)`, gateway/deps.py).

The routes themselves return what the services send (no `response_model`, so no second validation on
the way out); these models only describe it. The API fuzz test (tests/e2e/test_api_fuzz.py) checks every
answer against this document. A service whose RPCs are declared (shared/contracts/<service>.py) describes
its answers there, exactly (a field it does not declare is an error in the service); the models still
written here (the gateway's own answers and those of services not yet declared) name the fields api-v1
names and allow extra ones.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from gateway.ratelimit import ANONYMOUS_ROUTES
from shared.contracts.common import Role

REF = "#/components/schemas/{model}"


class Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------------------------------------- errors
class ErrorDetail(Doc):
    code: str = Field(description="snake_case, e.g. validation_error, not_found, conflict")
    message: str = Field(description="a sentence a person can read")
    field: str | None = Field(None, description="the path of the one field at fault, when there is one")


class Error(Doc):
    error: ErrorDetail


class NotReady(Error):
    status: Literal["unavailable"]
    failing: list[str]
    checks: dict[str, str]


# ---------------------------------------------------------------------------------------------- operations
class Health(Doc):
    status: Literal["ok"]


class Ready(Doc):
    status: Literal["ready"]
    checks: dict[str, str]


class ServiceHealth(Doc):
    service: str
    status: Literal["up", "down"]


class ServiceHealthList(Doc):
    items: list[ServiceHealth]


# ---------------------------------------------------------------------------------------------- keys
class ApiKey(Doc):
    id: str
    name: str
    role: Role
    divisions: list[str]
    email: str | None = Field(description="where an interviewer's invitations and reminders go")
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    user_id: str | None = Field(description="the user the key belongs to; null: a named service account")


class ApiKeyCreated(ApiKey):
    key: str = Field(description="the secret, shown this once")


class ApiKeyPage(Doc):
    items: list[ApiKey]
    next_cursor: str | None


class AuditRecord(Doc):
    id: str
    at: str
    candidate_id: str
    key_id: str
    key_name: str
    role: str
    caller_divisions: list[str] = Field(description='the key\'s divisions; `["*"]` for admin')
    division: str | None = Field(description="the division of the data read; null when not one division")
    action: str = Field(description="the route read, e.g. `GET /v1/candidates/{candidate_id}`")
    fields: list[str] = Field(description="the candidate's personal fields in the answer, e.g. name, email")
    trace_id: str | None


class AuditPage(Doc):
    items: list[AuditRecord]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------- sourcing
# Requisitions, applications, candidates, erasures, retention and sourcing's reports:
# shared/contracts/sourcing.py.


# ---------------------------------------------------------------------------------------------- interviews
# Interviews, scorecards, decisions and approvals: shared/contracts/interview_feedback.py (imported above).


class ConsentWithdrawn(Doc):
    talent_pool_consent: Literal[False]
    removed_from_pool: bool
    reengagements_withdrawn: int


# ---------------------------------------------------------------------------------------------- privacy
class CandidateExport(Doc):
    candidate_id: str
    exported_at: str
    format: Literal["hireloop-export/1"]
    services: dict[str, dict[str, Any]] = Field(description="what each service holds about the candidate")


# ---------------------------------------------------------------------------------------------- portal
class PortalView(Doc):
    """What the candidate may see (an allow-list; gateway/portal.py), in the page's language."""

    kind: Literal["application", "reengagement"]
    locale: Literal["en", "zh-CN"]
    requisition_title: str | None
    status: str
    status_text: str
    can_respond: bool
    application_id: str | None = None
    interview: dict | None = Field(default=None, description="the candidate's interview: when, how, where, and "
                                                             "`slots` to pick from while `can_pick`")


class PortalAnswer(Doc):
    kind: Literal["application", "reengagement"]
    status: str
    application_id: str | None


# ---------------------------------------------------------------------------------------------- public jobs
class PublicApplicationReceived(Doc):
    """`POST /v1/public/jobs/{id}/applications`: the application made; the candidate's portal link is emailed."""

    application_id: str
    status: Literal["received"]


ERROR_TEXT = {
    401: "Missing, unknown, revoked or expired API key",
    403: "The key's role may not do this, or the division is not the key's",
    404: "Not found, or in a division the key cannot see",
    409: ("Conflict: wrong order, duplicate, a request with this Idempotency-Key still in progress, or "
          "(`idempotency_key_reused`) a replay of an answer that held a secret, which is shown once"),
    413: "Request body over the size limit",
    429: "Rate limit of the key, its division or (without a key) the client address exceeded; retry after "
         "`Retry-After` seconds",
    422: "Invalid input; `error.field` names the field",
    503: "A service is unavailable or too slow; retry after `Retry-After` seconds",
}


def _error_response(status: int) -> dict:
    return {"description": ERROR_TEXT[status], "content": {"application/json": {"schema": {"$ref": REF.format(
        model="Error")}}}}


def describe(spec: dict) -> dict:
    """The document FastAPI generates, completed as the module docstring says."""
    spec = deepcopy(spec)
    _, defs = models_json_schema([(m, "serialization") for m in (Error, NotReady)], ref_template=REF)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for name, schema in defs.get("$defs", {}).items():
        # An error model must not replace a schema of the same name (enums may be shared).
        if schemas.setdefault(name, schema) != schema:
            raise ValueError(f"OpenAPI: error model {name} clashes with another schema of that name")
    components["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                    "description": "An API key: `Authorization: Bearer <key>`"}}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            _describe_operation(method, path, op)
    return spec


def _describe_operation(method: str, path: str, op: dict) -> None:
    params = op.get("parameters", [])
    authenticated = any(p["in"] == "header" and p["name"].lower() == "authorization" for p in params)
    op["parameters"] = [p for p in params if not (p["in"] == "header" and p["name"].lower() == "authorization")]
    if not op["parameters"]:
        del op["parameters"]
    responses: dict[str, Any] = op.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's, in its own error shape; ours is added below where it applies
    # What the route declared of itself (gateway/deps.py FINDS_BY_BODY, GATEWAY_ONLY): read, not published.
    finds_by_body = op.pop("x-hireloop-finds-by-body", False)
    gateway_only = op.pop("x-hireloop-gateway-only", False)
    errors: set[int] = set()
    if authenticated:
        op["security"] = [{"bearerAuth": []}]
        errors |= {401, 403, 429}
    if path.startswith(ANONYMOUS_ROUTES):
        errors.add(429)  # limited per client address
    if "{" in path or finds_by_body:
        errors.add(404)
    if method in ("post", "patch"):
        errors.add(409)  # Idempotency-Key in flight, at least (a PATCH: a closed requisition too)
    if "requestBody" in op:
        errors |= {413, 422}
    if op.get("parameters"):
        errors.add(422)
    if path.startswith(("/v1/", "/portal/")) and not gateway_only:
        errors.add(503)
    for status in sorted(errors):
        responses[str(status)] = _error_response(status)
    if path == "/readyz":
        responses["503"] = {"description": "Not ready: `failing` names the parts that do not answer",
                            "content": {"application/json": {"schema": {"$ref": REF.format(model="NotReady")}}}}


def install(app: FastAPI) -> None:
    generate = app.openapi  # FastAPI's own, which caches what it generates in app.openapi_schema
    described: dict | None = None

    def openapi() -> dict:
        nonlocal described
        if described is None:
            described = describe(generate())
            app.openapi_schema = described
        return described

    app.openapi = openapi
