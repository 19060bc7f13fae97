"""The one family of domain errors: what a rule refuses, in words a client can act on, with no HTTP.

Domains (services/*/domain.py) and service shells raise these; `code` is the api-v1 error code and `field`
the field at fault. They cross the bus intact: nameko serialises them into the RPC reply and
`deserialize_to_instance` turns them back into the same class in a calling service. The HTTP status of
each kind is the gateway's business, decided in one place (gateway/errors.py); a domain never names one.
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
    """Base of the family: a request the rules refuse (the kinds below say how)."""

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
    """The thing asked for does not exist, or the caller may not know it does."""

    default_code = "not_found"


@deserialize_to_instance
class Conflict(DomainError):
    """Not now: the state of things forbids it (wrong order, duplicate, already done)."""

    default_code = "conflict"


@deserialize_to_instance
class Invalid(DomainError):
    """The request itself is wrong; `field` names what is at fault."""

    default_code = "validation_error"


@deserialize_to_instance
class Forbidden(DomainError):
    """The caller may not do this (role, division)."""

    default_code = "forbidden"


@deserialize_to_instance
class Unauthenticated(DomainError):
    """Nobody known is calling (missing, forged or expired credentials)."""

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
