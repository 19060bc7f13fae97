"""Domain errors that cross the bus intact.

Services raise these; nameko serialises them into the RPC reply, `deserialize_to_instance` turns them
back into the same class in a calling service, and the gateway maps `exc_type` to the HTTP status and
the error body of api-v1 (`{"error": {"code", "message", "field"}}`).
"""

from __future__ import annotations

try:  # the gateway does not need nameko to use these classes
    from nameko.exceptions import deserialize_to_instance
except ImportError:  # pragma: no cover
    def deserialize_to_instance(cls):
        return cls


class NotYet(Exception):  # noqa: N818 - reads as "not yet (handled)"
    """An event arrived before one it depends on (e.g. a status change before the application itself).

    Not a failure: the inbox parks the event in `<service>.wait` for a few seconds and delivers it again,
    for up to `topology.WAIT_BUDGET_SECONDS`, without spending the delivery limit meant for poison."""


class DomainError(Exception):
    status = 400
    default_code = "bad_request"

    def __init__(self, message: str, code: str | None = None, field: str | None = None):
        # nameko stringifies every exception argument on the wire, so a missing field arrives as "None".
        field = None if field in (None, "", "None") else field
        super().__init__(message, code or self.default_code, field or "")
        self.message = message
        self.code = code or self.default_code
        self.field = field

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


@deserialize_to_instance
class NotFound(DomainError):
    status = 404
    default_code = "not_found"


@deserialize_to_instance
class Conflict(DomainError):
    status = 409
    default_code = "conflict"


@deserialize_to_instance
class Invalid(DomainError):
    status = 422
    default_code = "validation_error"


@deserialize_to_instance
class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


@deserialize_to_instance
class Unauthenticated(DomainError):
    status = 401
    default_code = "unauthenticated"


ERRORS_BY_NAME: dict[str, type[DomainError]] = {
    cls.__name__: cls for cls in (NotFound, Conflict, Invalid, Forbidden, Unauthenticated)
}


def from_validation_error(exc, prefix: str = "") -> Invalid:
    """A pydantic ValidationError as one Invalid naming the first field at fault."""
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first.get("loc", ()) if p != "__root__")
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    msg = first.get("msg", "invalid value")
    if first.get("type") == "extra_forbidden":
        msg = "unknown field"
    return Invalid(f"{path}: {msg}" if path else msg, field=path or None)
