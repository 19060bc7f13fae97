"""Who is calling: the identity the gateway authenticated, passed to services as signed context."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.contracts.common import Role
from shared.errors import Forbidden

ALL_DIVISIONS = "*"


class Caller(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str
    name: str
    role: str  # a Role, or "system" for a service acting on its own (timers, portal after token check)
    divisions: tuple[str, ...] = ()

    @classmethod
    def system(cls, who: str) -> Caller:
        return cls(key_id=f"system:{who}", name=who, role="system", divisions=(ALL_DIVISIONS,))

    @property
    def is_group_wide(self) -> bool:
        return self.role in (Role.admin, "system") or ALL_DIVISIONS in self.divisions

    def can_see(self, division: str | None) -> bool:
        return self.is_group_wide or (division is not None and division in self.divisions)

    def division_filter(self) -> list[str] | None:
        """None means every division; otherwise the list a query must be limited to."""
        return None if self.is_group_wide else list(self.divisions)

    def require_role(self, *roles: str) -> None:
        if self.role == "system" or self.role in roles:
            return
        raise Forbidden(f"role '{self.role}' may not do this; allowed: {', '.join(roles)}")
