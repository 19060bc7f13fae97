"""What every report endpoint takes: `division` (narrows; one the caller cannot see is 404, as if it did not
exist) and the period `[from, to)` as ISO dates or times (`to` must be after `from`: 422 naming `to`).
A service resolves them once with `report_scope` and filters its own records by the result."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.contracts.caller import Caller
from shared.errors import Invalid, NotFound
from shared.timeutil import iso

READER_ROLES = ("admin", "hr", "recruiter")
DIVISION_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


@dataclass(frozen=True)
class ReportScope:
    division: str | None
    divisions: list[str] | None  # the divisions a query is limited to; None: every division
    since: datetime | None
    until: datetime | None

    def covers(self, division: str | None) -> bool:
        return self.divisions is None or division in self.divisions

    def time_query(self) -> dict | None:
        """The period as a MongoDB condition on a time field; None for no bound."""
        span: dict = {}
        if self.since is not None:
            span["$gte"] = self.since
        if self.until is not None:
            span["$lt"] = self.until
        return span or None

    def echo(self) -> dict:
        """The scope as reports answer it."""
        return {"division": self.division, "from": iso(self.since), "to": iso(self.until)}


def instant(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        # In UTC now: an offset that takes year 1 or 9999 out of range is bad input, not a failure later.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(f"{field}: an ISO-8601 date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z",
                      field=field) from None


def report_scope(caller: Caller, division: str | None, start, end) -> ReportScope:
    """Checks the caller's role and the arguments; raises Forbidden, Invalid or NotFound."""
    caller.require_role(*READER_ROLES)
    if division is not None:
        if not isinstance(division, str) or not DIVISION_RE.match(division):
            raise Invalid("division: letters, digits, '_', '-' or '.', 1 to 80 characters", field="division")
        if not caller.can_see(division):
            raise NotFound(f"division {division} not found")
    since, until = instant(start, "from"), instant(end, "to")
    if since and until and since >= until:
        raise Invalid("to: must be after from", field="to")
    divisions = [division] if division is not None else caller.division_filter()
    return ReportScope(division=division, divisions=divisions, since=since, until=until)
