"""The pipeline board (issue 20): a column per stage, filtered and sorted, paged per column, with bulk actions.

What a render costs: one requisition, one pipeline summary (the counts per status and the filters' choices, no
personal data) and one page of PER_COLUMN cards per column, each a list call with its own cursor: never every
application of the requisition. "Show more" in a column asks for that column's next page only.

Bulk actions go through the same API a client uses, after a confirmation step that says what will happen to
each selected application: tags in one call (`POST /v1/applications/tags`); a rejection the way its stage is
rejected today (before interviews a screening override, so the candidate gets the screening-stage rejection
after the division's `screen_out_rejection_delay`; from interviews on a fail decision, the rejection after
interviews after `rejection_delay`); a move only where a person may make it (screened out back to
shortlisted by override; withdrawn, hired or no-show as an outcome)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from gateway.console.api import ApiError, SignedOut

if TYPE_CHECKING:
    from gateway.console import Page

# Columns, in the order an application moves; everything that ended otherwise shares the last one.
BOARD_COLUMNS = ["received", "shortlisted", "interviewing", "interviewed", "awaiting_approval", "offered",
                 "accepted", "hired"]
ENDED = ["screened_out", "rejected", "declined", "no_show", "withdrawn"]
COLUMNS = [*BOARD_COLUMNS, "ended"]
PER_COLUMN = 20  # cards per column per page: 9 columns, 180 cards at most in one render
SORTS = {"oldest": "Oldest first", "newest": "Newest first", "match": "Best match first"}
# Bulk actions on many applications (one API call each, but tags: one call for all) stop at this many.
BULK_LIMIT = 200
MOVES = {"shortlisted": "Shortlisted (screening override)", "withdrawn": "Withdrawn", "hired": "Hired",
         "no_show": "No-show"}


def q(value: str) -> str:
    return quote(value, safe="")


def board_filters(params) -> dict[str, str]:
    """The filters and order of the board's address (a query string); what is unknown is left out."""
    found = {"source": (params.get("source") or "").strip()[:80], "tag": (params.get("tag") or "").strip()[:40],
             "passed": params.get("passed") if params.get("passed") in ("true", "false") else "",
             "sort": params.get("sort") if params.get("sort") in SORTS else ""}
    return {k: v for k, v in found.items() if v}


def query(filters: dict[str, str], **more: str | None) -> str:
    return urlencode({**filters, **{k: v for k, v in more.items() if v}})


def column_params(status: str) -> dict[str, str]:
    return {"statuses": ",".join(ENDED)} if status == "ended" else {"status": status}


async def column(page: Page, requisition_id: str, status: str, filters: dict[str, str],
                 cursor: str | None = None) -> dict:
    """One page of one column's cards."""
    found = await page.api.get(f"/v1/requisitions/{q(requisition_id)}/applications", limit=PER_COLUMN,
                               cursor=cursor, **column_params(status), **filters)
    return {"status": status, "items": found["items"], "next_cursor": found.get("next_cursor"), "cursor": cursor}


async def load(page: Page, requisition_id: str, filters: dict[str, str], at: dict[str, str] | None = None):
    """The requisition, its pipeline summary and the first page of every column (or, for a column in `at`, the
    page after that cursor: the board without script, after "Show more")."""
    at = at or {}
    path = f"/v1/requisitions/{q(requisition_id)}"
    summary_filters = {k: v for k, v in filters.items() if k != "sort"}
    req, summary, *columns = await asyncio.gather(
        page.api.get(path), page.api.get(f"{path}/pipeline", **summary_filters),
        *(column(page, requisition_id, s, filters, at.get(s)) for s in COLUMNS))
    counts = summary["counts"]
    for col in columns:
        statuses = ENDED if col["status"] == "ended" else [col["status"]]
        col["count"] = sum(counts.get(s, 0) for s in statuses)
    return req, summary, columns


# ------------------------------------------------------------------------------------------ bulk actions
@dataclass
class Step:
    """What a bulk action does to one application: an API call, or why it is left alone."""

    app: dict
    effect: str
    path: str | None = None
    body: dict | None = None

    @property
    def doable(self) -> bool:
        return self.path is not None


def _reject(app: dict, role: str, reason: str) -> Step:
    path, status = f"/v1/applications/{q(app['id'])}", app["status"]
    if status == "shortlisted":
        return Step(app, "screened out: the screening-stage rejection email, after the division's delay",
                    f"{path}/screening/override", {"passed": False, "reason": reason})
    if status in ("interviewing", "interviewed"):
        if role not in ("hr", "admin"):
            return Step(app, "left as it is: after interviews HR decides")
        return Step(app, "rejected: the rejection email after interviews, after the division's delay",
                    f"{path}/decision", {"outcome": "fail", "reason": reason})
    if status == "received":
        return Step(app, "left as it is: not screened yet")
    if status == "awaiting_approval":
        return Step(app, "left as it is: its approval chain decides")
    return Step(app, f"left as it is: already {status.replace('_', ' ')}")


def _move(app: dict, role: str, target: str, reason: str) -> Step:
    path, status = f"/v1/applications/{q(app['id'])}", app["status"]
    if status == target:
        return Step(app, f"left as it is: already {target.replace('_', ' ')}")
    if target == "shortlisted":
        if status != "screened_out":
            return Step(app, "left as it is: only a screened-out application goes back to shortlisted")
        return Step(app, "shortlisted by a screening override", f"{path}/screening/override",
                    {"passed": True, "reason": reason})
    if role not in ("hr", "admin"):
        return Step(app, "left as it is: HR records outcomes")
    if target == "withdrawn":
        if status in ("rejected", "declined", "hired", "no_show"):
            return Step(app, f"left as it is: already {status.replace('_', ' ')}")
        return Step(app, "withdrawn", f"{path}/outcome", {"outcome": "withdrawn"})
    if status != "accepted":
        return Step(app, f"left as it is: {target.replace('_', ' ')} follows an accepted offer")
    return Step(app, target.replace("_", " "), f"{path}/outcome", {"outcome": target})


def plan(action: str, apps: list[dict], role: str, *, tag: str = "", move_to: str = "",
         reason: str = "") -> list[Step]:
    """What `action` would do to each of `apps` (as the API answered them), for the confirmation step."""
    if action in ("tag", "untag"):
        verb = "tagged" if action == "tag" else "untagged"
        return [Step(a, f"{verb} “{tag}”", "/v1/applications/tags") for a in apps]
    if action == "reject":
        return [_reject(a, role, reason) for a in apps]
    if action == "move":
        return [_move(a, role, move_to, reason) for a in apps]
    raise ApiError(422, "validation_error", f"action: unknown bulk action '{action}'", "action")


def check(action: str, ids: list[str], *, tag: str, move_to: str, reason: str) -> None:
    """The bulk form's own checks, as the API would name them (nothing is done or shown before they pass)."""
    if not ids:
        raise ApiError(422, "validation_error", "application: select at least one application", "application")
    limit = 500 if action in ("tag", "untag") else BULK_LIMIT
    if len(ids) > limit:
        raise ApiError(422, "validation_error", f"application: at most {limit} at once", "application")
    if action in ("tag", "untag") and not tag:
        raise ApiError(422, "validation_error", "tag: name the tag", "tag")
    if action == "move" and move_to not in MOVES:
        raise ApiError(422, "validation_error", "move_to: choose where to move them", "move_to")
    needs_reason = action == "reject" or (action == "move" and move_to == "shortlisted")
    if needs_reason and not reason:
        raise ApiError(422, "validation_error", "reason: say why (it is recorded)", "reason")


async def applications(page: Page, ids: list[str]) -> list[dict]:
    """The selected applications as the API answers them now (a few at a time)."""
    gate = asyncio.Semaphore(8)

    async def one(application_id: str) -> dict:
        async with gate:
            return await page.api.get(f"/v1/applications/{q(application_id)}")
    return list(await asyncio.gather(*(one(i) for i in ids)))


async def run(page: Page, action: str, steps: list[Step], *, tag: str, nonce: str) -> tuple[int, list[str]]:
    """Carry out the confirmed steps: how many were done, and what went wrong with the others."""
    doable = [s for s in steps if s.doable]
    if not doable:
        return 0, []
    if action in ("tag", "untag"):
        body = {"application_ids": [s.app["id"] for s in doable], "add" if action == "tag" else "remove": [tag]}
        await page.api.post("/v1/applications/tags", body, idempotency_key=f"{nonce}:tags" if nonce else None)
        return len(doable), []
    gate = asyncio.Semaphore(4)
    problems: list[str] = []

    async def one(step: Step) -> bool:
        async with gate:
            try:
                await page.api.post(step.path, step.body,
                                    idempotency_key=f"{nonce}:{step.app['id']}" if nonce else None)
                return True
            except SignedOut:
                raise
            except ApiError as exc:
                problems.append(f"{step.app.get('candidate_name') or step.app['id']}: {exc}")
                return False
    done = await asyncio.gather(*(one(s) for s in doable))
    return sum(done), problems
