"""Every RPC declared once: which service answers it, the arguments it takes, what it answers, who may call.

A declaration is used on both ends of the wire:
- the caller (the gateway's client, or a service calling another) validates the arguments with `args`, sends
  them as nameko keyword arguments, and reads the answer back into `returns`;
- the service implements it with `shared.bus.nameko_ext.implements(Declaration)`, which checks the caller's
  role, parses the arguments (a 422 naming the field) and serialises what the method returns through
  `returns`, so an answer that drifts from its declaration fails in the service, not in a client.

Roles are the roles of the people calling; a service acting on its own (`Caller.system`) may call anything.
Object-level scope (which divisions a caller sees) stays with the service: it depends on the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from shared.contracts.common import SERVICES
from shared.errors import from_validation_error

A = TypeVar("A", bound=BaseModel)
R = TypeVar("R")

ADMIN, HR, RECRUITER, INTERVIEWER = "admin", "hr", "recruiter", "interviewer"
STAFF = (ADMIN, HR, RECRUITER)
ANYONE = (ADMIN, HR, RECRUITER, INTERVIEWER)
SYSTEM_ONLY: tuple[str, ...] = ()  # only services acting on their own (and so never a person's key)


class Args(BaseModel):
    """The arguments of an RPC: nothing the declaration does not name."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(Args):
    pass


class View(BaseModel):
    """What an RPC answers: every field declared (an undeclared one is a bug in the service)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Rpc(Generic[A, R]):
    service: str
    method: str
    args: type[A]
    returns: Any  # a View, a list of them, a dict type, ...: anything pydantic's TypeAdapter takes
    roles: tuple[str, ...]
    summary: str = ""
    register: bool = True  # False for the health probe, which every service answers alike (HEALTH)
    _adapter: TypeAdapter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_adapter", TypeAdapter(self.returns))
        if not self.register:
            return
        REGISTRY.setdefault(self.service, {})
        if self.method in REGISTRY[self.service]:
            raise ValueError(f"RPC {self.service}.{self.method} is declared twice")
        REGISTRY[self.service][self.method] = self

    @property
    def name(self) -> str:
        return f"{self.service}.{self.method}"

    # -- the caller's side ----------------------------------------------------------------------------
    def request(self, **kwargs: Any) -> dict[str, Any]:
        """The keyword arguments to send: validated, in their JSON form (what the caller context signs). Arguments
        whose model says `SPARSE` (a PATCH: a field left out is unchanged, null clears it) send only the fields
        given, so the service tells the two apart."""
        parsed = self.parse_args(kwargs)
        return parsed.model_dump(mode="json", exclude_unset=getattr(self.args, "SPARSE", False))

    def read_result(self, raw: Any) -> R:
        return self._adapter.validate_python(raw)

    # -- the service's side ---------------------------------------------------------------------------
    def parse_args(self, kwargs: dict[str, Any]) -> A:
        try:
            return self.args.model_validate(kwargs)
        except ValidationError as exc:
            raise from_validation_error(exc) from None

    def dump_result(self, value: Any) -> Any:
        return self._adapter.dump_python(self._adapter.validate_python(value), mode="json")


# service -> method -> declaration; filled as the contract modules are imported (see `declared`).
REGISTRY: dict[str, dict[str, Rpc]] = {}


def declared(service: str) -> dict[str, Rpc]:
    """Every RPC of one service (importing its contract module fills the registry)."""
    from shared.contracts import services  # noqa: F401 - imports every service's contract module

    return dict(REGISTRY.get(service, {}))


class ServiceHealth(View):
    """A service's answer to the health probe (readiness, the admin's service list, container checks)."""

    service: str
    instance: str
    version: str
    uptime_seconds: float
    store: Literal["ok", "down"]
    broker: Literal["ok"]
    outbox_backlog: int
    metrics_port: int | None
    python: str


def _health(service: str) -> Rpc[NoArgs, ServiceHealth]:
    # A probe carries no caller (nothing personal in it); every service answers it from shared/bus/nameko_ext.py.
    return Rpc(service, "health", NoArgs, ServiceHealth, SYSTEM_ONLY, "the health probe", register=False)


HEALTH: dict[str, Rpc[NoArgs, ServiceHealth]] = {s: _health(s) for s in SERVICES}
