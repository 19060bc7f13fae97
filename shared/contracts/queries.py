"""What list and report RPCs take: a page size and cursor, a report's division and period, and what reports
echo back. Each argument keeps the words the services have always answered with (a 422 naming the field)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from shared.contracts.common import MAX_PAGE, RpcPageLimit
from shared.contracts.rpc import Args, View

__all__ = ["MAX_PAGE", "Cursor", "Filter", "Limit", "ReportArgs", "ReportPeriod"]
CURSOR_MAX = 200  # what the gateway takes in `?cursor=` (a `next_cursor` is far shorter)


def _cursor(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > CURSOR_MAX):
        raise PydanticCustomError("cursor", "not a cursor returned by this API")
    return value


def _text_at_most(n: int):
    def check(value: Any) -> str | None:
        if value is not None and (not isinstance(value, str) or len(value) > n):
            raise PydanticCustomError("text", f"must be a string of at most {n} characters")
        return value
    return BeforeValidator(check)


Limit = RpcPageLimit  # a page size (shared/contracts/common.py, the one definition)
Cursor = Annotated[str | None, BeforeValidator(_cursor)]
# A filter of a list (a skill, a division): any short text; what it matches is the service's business.
Filter = Annotated[str | None, _text_at_most(80)]


class ReportArgs(Args):
    """A report's scope as the gateway passes it (`?division=&from=&to=`): checked by shared.reports.report_scope,
    which knows the caller (a division they cannot see is a 404) and reads the dates."""

    division: str | None = None
    start: str | None = None
    end: str | None = None


class ReportPeriod(View):
    """What every report echoes of its scope (shared.reports.ReportScope.echo)."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    division: str | None
    from_: str | None = Field(alias="from")
    to: str | None
