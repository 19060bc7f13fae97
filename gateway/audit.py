"""The audit log of personal-data reads: who read which candidate's data, through which route, when.

Every route that returns a candidate's personal data records the read here before it answers, in the
gateway's own database (collection `audit`): one document per request, naming every candidate in the
response (`candidate_ids`, a multikey index, and per candidate the division and the fields read in
`reads`), so a list of 50 matches costs one insert, not 50. `GET /v1/audit?candidate_id=` still answers one
record per read of that candidate; documents written before (one per candidate, `candidate_id`) are listed
alike (each shape has its index; the two are merged by id). When the record cannot be written the request
fails with 503: a read that is not in the log does not happen. Records hold ids and the names of the
fields that were read, never the values (no name, email or phone).

Records are written by group commit: while one `insert_many` is in flight, the reads that arrive wait
and then go together in the next one. Each request still waits for its own records to be written before
it answers, so the guarantee above holds; under load 32 reads in flight cost one database round trip, not
32 (the read path's profile had the audit insert as a third of the gateway's database round trips). A
lone read goes at once, with no added wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from opentelemetry import trace
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from shared.bus.aio_rpc import ServiceUnavailable
from shared.contracts.caller import Caller
from shared.ids import new_id
from shared.storage import decode_cursor, encode_cursor
from shared.timeutil import iso, utcnow

log = logging.getLogger("hireloop.audit")

# The fields of each kind of answer that are a candidate's personal data (identity, contact, profile, or
# what the hiring loop concluded about them); a record lists those present in what was returned.
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "candidate": ("name", "email", "phone", "location", "skills", "years_experience"),
    "application": ("candidate_name", "screening", "interview", "decision", "confirmation"),
    "notice": ("recipient", "subject", "body"),
    "pool_entry": ("name", "skills", "prior"),
    "match": ("name", "matched_skills", "missing_skills", "prior_average"),
    "document": ("filename", "text", "skills_found", "years_found"),
    "note": ("body",),  # staff's notes on an application (issue 20)
}


def personal_fields(kind: str, *items: dict) -> list[str]:
    """The personal fields of `kind` that hold a value in any of the items, in a fixed order."""
    return [f for f in PERSONAL_FIELDS[kind] if any(item.get(f) not in (None, "", [], {}) for item in items)]


def division_of(caller: Caller, divisions: Iterable[str | None] = ()) -> str | None:
    """The division the data read belongs to: the one the answer names, else the caller's only division
    (a division-scoped key reads nothing outside it). None when that is not one division (an admin reading
    a candidate's profile, which belongs to no one division; notices of several divisions)."""
    found = {d for d in divisions if d}
    if len(found) == 1:
        return found.pop()
    if not found and not caller.is_group_wide and len(caller.divisions) == 1:
        return caller.divisions[0]
    return None


@dataclass(frozen=True)
class Read:
    """One candidate's personal data in one answer."""
    candidate_id: str
    division: str | None
    fields: list[str]


class AuditUnavailable(ServiceUnavailable):
    """The audit log could not record a read: answered 503 with Retry-After, like a service away."""

    def __init__(self):
        super().__init__("audit", "the read could not be recorded in the audit log, so it was not answered")


def _read_of(doc: dict, candidate_id: str) -> dict[str, Any]:
    """The candidate's read in a document: its own entry in `reads`, or the document itself (one per
    candidate, the shape written before)."""
    if "reads" not in doc:
        return doc
    return next((r for r in doc["reads"] if r["candidate_id"] == candidate_id), {"candidate_id": candidate_id})


def _view(doc: dict, candidate_id: str) -> dict[str, Any]:
    read = _read_of(doc, candidate_id)
    return {
        "id": doc["_id"],
        "at": iso(doc["at"]),
        "candidate_id": read["candidate_id"],
        "key_id": doc["key_id"],
        "key_name": doc["key_name"],
        "role": doc["role"],
        "caller_divisions": doc.get("caller_divisions", []),
        "division": read.get("division"),
        "action": doc["action"],
        "fields": read.get("fields", []),
        "trace_id": doc.get("trace_id"),
    }


def _trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else None


class GroupWriter:
    """insert_many for many concurrent writers: each `write` returns once its documents are stored (or
    raises the batch's error), and the writes that arrive during an insert share the next one."""

    def __init__(self, collection, max_batch: int = 1000):
        self.collection = collection
        self.max_batch = max_batch
        self._waiting: list[tuple[list[dict], asyncio.Future, trace.SpanContext]] = []
        self._flusher: asyncio.Task | None = None

    async def write(self, docs: list[dict]) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((docs, done, trace.get_current_span().get_span_context()))
        if self._flusher is None:
            # In an empty context: the batch is nobody's request in particular; its span links to each.
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), context=contextvars.Context())
        # A client that goes away does not cancel the others' batch; its outcome is then read by nobody, so
        # mark it read (asyncio would log an unread exception as an error at collection).
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        batch: list = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
                docs = [doc for docs, _, _ in batch for doc in docs]
                links = [trace.Link(ctx) for _, _, ctx in batch if ctx.is_valid]
                with trace.get_tracer("hireloop.audit").start_as_current_span(
                        "audit write", links=links, attributes={"hireloop.audit.records": len(docs)}):
                    try:
                        await self.collection.insert_many(docs, ordered=False)
                    except PyMongoError as exc:
                        _settle(batch, exc)
                        continue
                _settle(batch, None)
        finally:
            self._flusher = None
            # Cancelled (the gateway stopping): nobody waiting may hang, nor answer unrecorded.
            _settle(batch + self._waiting, PyMongoError("the audit writer stopped"))
            self._waiting = []


def _settle(batch: list, error: BaseException | None) -> None:
    for _, done, _ in batch:
        if not done.done():
            done.set_exception(error) if error is not None else done.set_result(None)


class AuditLog:
    def __init__(self, client: AsyncMongoClient, database: str):
        self.audit = client[database].audit
        self.writer = GroupWriter(self.audit)

    async def setup(self) -> None:
        # Ids are time-ordered (shared.ids), so (candidate_ids, _id) is "by candidate, by time" (multikey: one
        # entry per candidate of a request); (candidate_id, _id) the same for the documents of one candidate
        # each, written before.
        await self.audit.create_index([("candidate_ids", 1), ("_id", -1)], name="candidates_time")
        await self.audit.create_index([("candidate_id", 1), ("_id", -1)], name="candidate_time")

    async def record(self, request: Request, caller: Caller, reads: list[Read]) -> None:
        """Write one record of the request's reads, or raise AuditUnavailable (the caller must then not
        answer)."""
        if not reads:
            return
        route = getattr(request.scope.get("route"), "path", None) or request.url.path
        merged: dict[str, dict[str, Any]] = {}
        for r in reads:  # a candidate listed twice in one answer is one read of the fields of both
            seen = merged.setdefault(r.candidate_id, {"candidate_id": r.candidate_id, "division": r.division,
                                                      "fields": []})
            seen["fields"] += [f for f in r.fields if f not in seen["fields"]]
        doc = {"_id": new_id("aud"), "at": utcnow(), "candidate_ids": list(merged), "reads": list(merged.values()),
               "key_id": caller.key_id, "key_name": caller.name, "role": caller.role,
               "caller_divisions": list(caller.divisions), "action": f"{request.method} {route}",
               "trace_id": _trace_id()}
        try:
            await self.writer.write([doc])
        except PyMongoError as exc:
            # The type only: a driver's message can quote the document (ids, but keep the log plain).
            log.error("audit record not written", extra={"exc_type": type(exc).__name__, "records": len(merged)})
            raise AuditUnavailable() from None

    async def list(self, candidate_id: str, limit: int = 50, cursor: str | None = None) -> dict:
        """One page of a candidate's records, newest first; `next_cursor` continues with older ones."""
        before = decode_cursor(cursor)
        older = {"_id": {"$lt": before}} if before else {}
        docs: list[dict] = []
        try:
            # Both shapes, each by its own index (an $or would scan on the embedded store), newest first.
            for field in ("candidate_ids", "candidate_id"):
                query = {field: candidate_id, **older}
                docs += [d async for d in self.audit.find(query).sort("_id", -1).limit(limit + 1)]
        except PyMongoError as exc:
            log.error("audit log not readable", extra={"exc_type": type(exc).__name__})
            raise ServiceUnavailable("audit", "the audit log could not be read") from None
        docs.sort(key=lambda d: d["_id"], reverse=True)
        next_cursor = encode_cursor(docs[limit - 1]["_id"]) if len(docs) > limit else None
        return {"items": [_view(d, candidate_id) for d in docs[:limit]], "next_cursor": next_cursor}
