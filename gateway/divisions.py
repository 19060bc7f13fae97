"""Registered divisions, as the gateway checks them before an API key or a policy names one: sourcing keeps the
records (GET/POST /v1/divisions); the gateway asks it as the system. A division stays registered once it is (there
is no DELETE), so a "registered" answer is kept briefly per process (a key form with five divisions costs no five
calls per request); "not registered" is never kept, so a division registered a moment ago counts at once."""

from __future__ import annotations

import time

from fastapi import Request

from gateway.rpc import ServiceCalls
from shared.contracts import sourcing
from shared.contracts.caller import Caller
from shared.errors import Invalid, NotFound

CHECKER = Caller.system("gateway-divisions")
KEEP_SECONDS = 60.0


class RegisteredDivisions:
    def __init__(self, keep_seconds: float = KEEP_SECONDS):
        self.keep_seconds = keep_seconds
        self._known: dict[str, float] = {}  # division -> monotonic time it was last found registered

    async def registered(self, rpc: ServiceCalls, request: Request | None, division: str) -> bool:
        seen = self._known.get(division)
        if seen is not None and time.monotonic() - seen < self.keep_seconds:
            return True
        try:
            await rpc(sourcing.GetDivision, CHECKER, request, division_id=division)
        except NotFound:
            self._known.pop(division, None)
            return False
        self._known[division] = time.monotonic()
        return True

    async def require(self, rpc: ServiceCalls, request: Request | None, divisions: list[str],
                      field: str = "division") -> None:
        """422 naming `field` (with the index for a list: `divisions.0`) for the first division not registered."""
        for index, division in enumerate(divisions):
            if not await self.registered(rpc, request, division):
                where = field if field == "division" else f"{field}.{index}"
                raise Invalid(f"{where}: '{division}' is not a registered division (GET /v1/divisions lists them; "
                              f"group HR registers one with POST /v1/divisions)", field=where)


async def require_registered(request: Request, rpc: ServiceCalls, divisions: list[str],
                             field: str = "division") -> None:
    await request.app.state.gateway.divisions.require(rpc, request, divisions, field)
