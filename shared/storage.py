"""MongoDB access shared by every service: one database per owner, and the unit of work.

A unit of work is one MongoDB transaction holding, together:
- the inbox record of the event being handled (unique by event id, so a redelivered event is seen as
  already handled and changes nothing),
- the service's own state changes,
- the events to publish, written to the `outbox` collection (relayed to RabbitMQ after commit, marked
  sent after the broker confirms).
So the state change and the events it causes are atomic from the outside.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.contracts.common import MAX_PAGE, page_limit  # noqa: F401 - MAX_PAGE: the most a page() answers
from shared.contracts.envelope import EventEnvelope
from shared.errors import Invalid, NotYet
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

OUTBOX_LEASE = timedelta(seconds=30)
OUTBOX_RETENTION_SECONDS = 7 * 86400
# Longer than any redelivery or dead-letter replay is expected to come after the first delivery.
INBOX_RETENTION_SECONDS = 30 * 86400


def mongo_client(url: str, **kwargs: Any) -> MongoClient:
    if not url:
        raise RuntimeError("MONGO_URL is not set: start the platform with `make run`, or set MONGO_URL")
    kwargs.setdefault("tz_aware", True)
    kwargs.setdefault("serverSelectionTimeoutMS", 5000)
    return MongoClient(url, **kwargs)


class StillContended(NotYet):
    """A transaction kept conflicting with another one; worth trying again in a few seconds."""


class AlreadyHandled(Exception):
    """The event was handled before (found in the inbox): nothing to do, acknowledge it."""


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def encode_sort_cursor(value: datetime, last_id: str) -> str:
    """The cursor of a list sorted by a time and then id: the last item's time (ISO, UTC) and id."""
    return encode_cursor(f"{value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()}|{last_id}")


def decode_sort_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    decoded = decode_cursor(cursor)
    if decoded is None:
        return None
    at, sep, last_id = decoded.partition("|")
    try:
        value = datetime.fromisoformat(at)
        if not sep or not last_id:
            raise ValueError("no id")
    except ValueError:
        raise Invalid("cursor: not a cursor this list gave", field="cursor") from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)), last_id


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        decoded = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
        if not decoded:
            raise ValueError("empty cursor")
        return decoded
    except (ValueError, UnicodeDecodeError):
        from shared.errors import Invalid

        raise Invalid("cursor: not a cursor returned by this API", field="cursor") from None


def match(divisions: list[str] | None = None, **equal: Any) -> dict:
    """A list query: each field given a value must equal it (None: no condition); `divisions`, when not None,
    limits the query to those divisions (Caller.division_filter())."""
    query = {field: value for field, value in equal.items() if value is not None}
    if divisions is not None:
        query["division"] = {"$in": divisions}
    return query


def update_and_get(collection, query: dict, update: dict, *, upsert: bool = False, session=None) -> dict | None:
    """Conditionally update the document `query["_id"]` and return it as updated, or None if the
    condition did not hold. The conditional update is the atomic step (exactly one of two racing
    claimers matches). Used instead of find_one_and_update, which secantusdb, the embedded default,
    runs as a collection scan (about 100 ms at 5 000 documents against 1 ms for this)."""
    result = collection.update_one(query, update, upsert=upsert, session=session)
    if result.matched_count == 0 and result.upserted_id is None:
        return None
    return collection.find_one({"_id": query["_id"]}, session=session)


class UnitOfWork:
    def __init__(self, store: ServiceStore, session, headers: dict[str, Any], correlation_id: str | None,
                 causation_id: str | None):
        self.store = store
        self.session = session
        self.headers = headers
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.emitted: list[EventEnvelope] = []

    def emit(self, event_type: str, payload: BaseModel | dict) -> EventEnvelope:
        body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        envelope = EventEnvelope(
            type=event_type,
            producer=self.store.owner,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            payload=body,
        )
        self.store.db.outbox.insert_one(
            {
                "_id": envelope.event_id,
                "type": event_type,
                "envelope": envelope.model_dump(mode="json"),
                "headers": self.headers,
                "created_at": utcnow(),
                "sent_at": None,
                "lease_until": None,
                "attempts": 0,
            },
            session=self.session,
        )
        self.emitted.append(envelope)
        return envelope


class ServiceStore:
    """Base of every service's store: owns one database, its outbox and its inbox."""

    owner: str = ""
    # Collections whose documents carry their own outbox (write_document); the relay's sweep looks in each.
    documents_with_outbox: tuple[str, ...] = ()

    def __init__(self, client: MongoClient, database: str):
        self.client = client
        self.db: Database = client[database]

    # -- set-up ------------------------------------------------------------------------------------
    def ensure_indexes(self) -> None:
        self.db.outbox.create_index([("sent_at", ASCENDING), ("created_at", ASCENDING)])
        # Sent events and handled-event records are kept for a while (inspection, late redeliveries),
        # then expire; unsent events (sent_at null) never do.
        self.db.outbox.create_index([("sent_at", ASCENDING)], name="sent_expiry",
                                    expireAfterSeconds=OUTBOX_RETENTION_SECONDS)
        self.db.inbox.create_index([("handled_at", ASCENDING)], name="handled_expiry",
                                   expireAfterSeconds=INBOX_RETENTION_SECONDS)
        self.db.erased.create_index([("application_ids", ASCENDING)])
        # Every id a tombstone names (the candidate and their applications): one indexed look-up per check.
        self.db.erased.create_index([("subjects", ASCENDING)])
        for legacy in self.db.erased.find({"subjects": {"$exists": False}}, {"application_ids": 1}):
            self.db.erased.update_one({"_id": legacy["_id"]}, {"$addToSet": {"subjects": {
                "$each": [legacy["_id"], *(legacy.get("application_ids") or [])]}}})
        for collection in self.documents_with_outbox:
            self.db[collection].create_index([("outbox_pending", ASCENDING)], sparse=True, name="outbox_pending")
        self.create_indexes()

    def bootstrap(self, settings) -> None:
        """What the service's store sets up from its settings when the service starts, after the indexes (e.g.
        sourcing's HIRELOOP_DIVISIONS); nothing by default. Every replica runs it: it must be idempotent."""

    def create_indexes(self) -> None:
        """Subclasses declare their own indexes here."""

    def ping(self) -> bool:
        try:
            self.client.admin.command("ping")
            return True
        except PyMongoError:
            return False

    # -- transactions --------------------------------------------------------------------------------
    def transact(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        inbox_event_id: str | None = None,
        headers: dict[str, Any] | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        retries: int = 8,
        about: tuple[list[str], list[str]] | None = None,
    ) -> tuple[T | None, list[EventEnvelope]]:
        """Run `work` in one transaction; retry on transient errors (write conflicts between replicas).

        `about`: the (candidate ids, application ids) the event being handled concerns
        (shared/erasure.py, `subjects`). When one of them was erased here, the event is recorded in the
        inbox as handled and `work` does not run: (None, []). So an event that waited (a wait queue, a
        dead-letter replay) until after an erasure is acknowledged and changes nothing."""
        for attempt in range(retries):
            with self.client.start_session() as session:
                uow = UnitOfWork(self, session, headers or {}, correlation_id, causation_id)
                try:
                    with session.start_transaction():
                        if inbox_event_id is not None:
                            try:
                                self.db.inbox.insert_one(
                                    {"_id": inbox_event_id, "handled_at": utcnow()}, session=session
                                )
                            except DuplicateKeyError:
                                raise AlreadyHandled(inbox_event_id) from None
                        if about is not None and self.erased_any(*about, session=session):
                            log.info("event about an erased candidate: acknowledged, nothing done",
                                     extra={"event_id": inbox_event_id})
                            return None, []
                        result = work(uow)
                    return result, uow.emitted
                except PyMongoError as exc:
                    transient = exc.has_error_label("TransientTransactionError") or exc.has_error_label(
                        "UnknownTransactionCommitResult"
                    )
                    if not transient:
                        raise
                    if attempt == retries - 1:
                        # Still conflicting after a few seconds: typically a transaction left open by a
                        # process that was killed, which the server aborts within a minute. An event
                        # handler parks the event (NotYet) and tries again later; an RPC answers 503.
                        raise StillContended(f"write conflict persisted after {retries} attempts: {exc}") from exc
                    time.sleep(min(0.01 * 2**attempt, 0.5))
        raise AssertionError("unreachable")

    # -- one document, one write (docs/decisions/004-one-document-writes.md) -------------------------------
    def write_document(
        self,
        collection: str,
        doc_id: str,
        decide: Callable[[dict | None, DocumentChange], dict | None],
        *,
        new: bool = False,
        event_id: str | None = None,
        about: tuple[list[str], list[str]] | None = None,
        headers: dict[str, Any] | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        retries: int = 8,
    ) -> tuple[dict | None, list[EventEnvelope], list[dict]]:
        """Read document `doc_id` of `collection`, let `decide(state, change)` return its new state (or None:
        nothing to write), and write that state, the handled event's id and the emitted events in one
        conditional write. A concurrent write in between (another replica, another event of the same
        document) makes the condition fail, and the whole step runs again on what is there now.

        Raises AlreadyHandled when `event_id` was applied to the document before. `about`: what the event
        concerns (shared/erasure.py, `subjects`): a document marked `erased`, or a new one whose subject
        has a tombstone here, is left alone and the event acknowledged: (None, [], []).
        `new`: the document is expected not to exist (a fresh id, or an application's first event): the first
        attempt inserts without reading it (the tombstones are still checked); an `_id` clash (it existed: a
        redelivery, another event of it first) reads it and runs again as usual.
        Returns (the document as written or found, the emitted envelopes, their outbox entries)."""
        coll = self.db[collection]
        for _attempt in range(retries):
            stored = None if new and _attempt == 0 else coll.find_one({"_id": doc_id})
            if stored is not None and event_id is not None and event_id in (stored.get("inbox") or ()):
                raise AlreadyHandled(event_id)
            # A new document: the tombstones alone (a store's `erased_application_hint` looks in its own records of
            # the application, of which this document would be the one).
            if about is not None and (stored.get("erased") if stored is not None
                                      else self.erased_any(*about, hint=False)):
                log.info("event about an erased candidate: acknowledged, nothing done", extra={"event_id": event_id})
                if event_id is not None:  # recorded as handled (rare: an event that waited past an erasure)
                    if stored is not None:
                        coll.update_one({"_id": doc_id}, {"$push": {"inbox": {"$each": [event_id],
                                                                               "$slice": -INBOX_KEEP}}})
                    else:
                        self.db.inbox.update_one({"_id": event_id}, {"$setOnInsert": {"handled_at": utcnow()}},
                                                 upsert=True)
                return None, [], []
            change = DocumentChange(self, headers or {}, correlation_id, causation_id)
            after = decide(deepcopy(state_of(stored)), change)
            if after is None:
                if change.emitted:
                    raise AssertionError("a change that emits events must write its document")
                return stored, [], []
            after["_id"] = doc_id
            if stored is None:
                doc = {**after, "_rev": 1, "inbox": [event_id] if event_id else [], "outbox": change.entries}
                if change.entries:
                    doc["outbox_pending"] = True
                try:
                    coll.insert_one(doc)
                except DuplicateKeyError as exc:
                    if not _on_id(exc):
                        raise  # another unique index refused it (a duplicate the caller answers): not a race
                    continue  # created meanwhile (a redelivery racing, or another event of it): read again
                return doc, change.emitted, change.entries
            rev = stored.get("_rev") or 0
            update = document_update(state_of(stored), after, rev, change.entries, event_id)
            if coll.update_one({"_id": doc_id, "_rev": stored.get("_rev")}, update).matched_count:
                written = {**stored, **after, "_rev": rev + 1,
                           "outbox": (stored.get("outbox") or []) + change.entries}
                return written, change.emitted, change.entries
        raise StillContended(f"{collection}/{doc_id}: the document kept changing under {retries} attempts")

    def pending_documents(self, collection: str, limit: int = 500) -> list[dict]:
        """Documents of `collection` that may hold unrelayed events (their outbox, ids and lease only)."""
        return list(self.db[collection].find({"outbox_pending": True}, {"outbox": 1, "outbox_lease": 1})
                    .limit(limit))

    def lease_document_outbox(self, collection: str, doc_id: str) -> bool:
        """Take the sweep's lease on a document's outbox, so two replicas' sweeps do not both publish it."""
        now = utcnow()
        return self.db[collection].update_one(
            {"_id": doc_id, "outbox_lease": {"$not": {"$gte": now}}},
            {"$set": {"outbox_lease": now + OUTBOX_LEASE}}).matched_count == 1

    def clear_relayed(self, collection: str, doc_ids: list[str], event_ids: list[str]) -> None:
        """Pull relayed events off their documents: one command for a whole batch."""
        self.db[collection].update_many({"_id": {"$in": list(doc_ids)}},
                                        {"$pull": {"outbox": {"_id": {"$in": list(event_ids)}}}})

    def settle_empty_outboxes(self, collection: str, doc_ids: list[str]) -> None:
        """Documents whose outbox is empty leave the sweep's index (checked in the same write, so an event
        added meanwhile keeps its document pending)."""
        self.db[collection].update_many({"_id": {"$in": list(doc_ids)}, "outbox": {"$size": 0}},
                                        {"$unset": {"outbox_pending": "", "outbox_lease": ""}})

    # -- outbox --------------------------------------------------------------------------------------
    def claim_outbox(self, limit: int = 100, only_ids: list[str] | None = None) -> list[dict]:
        """Lease unsent events for publishing; a lease that runs out (crashed relay) frees them again.

        Candidates are found with one indexed query, then each is claimed by id with the same condition,
        so two relays never publish the same event at once and an empty outbox costs one query."""
        now = utcnow()
        # No $or (a collection scan on some servers): "no lease, or an expired one" as one condition.
        claimable: dict[str, Any] = {"sent_at": None, "lease_until": {"$not": {"$gte": now}}}
        if only_ids is None:
            # `sent_at: null` alone, so the (sent_at, created_at) index serves it; the claim checks the lease.
            candidates = [d["_id"] for d in self.db.outbox.find({"sent_at": None}, {"_id": 1})
                          .sort("created_at", ASCENDING).limit(limit)]
        else:
            candidates = list(only_ids)
        claimed = []
        for event_id in candidates:
            doc = update_and_get(self.db.outbox, {"_id": event_id, **claimable},
                                 {"$set": {"lease_until": now + OUTBOX_LEASE}, "$inc": {"attempts": 1}})
            if doc is not None:
                claimed.append(doc)
        return claimed

    def mark_sent(self, event_id: str) -> None:
        self.db.outbox.update_one({"_id": event_id}, {"$set": {"sent_at": utcnow(), "lease_until": None}})

    def outbox_backlog(self) -> int:
        return self.db.outbox.count_documents({"sent_at": None})

    # -- erasure (shared/erasure.py) ----------------------------------------------------------------
    def erase_from_outbox(self, candidate_id: str, application_ids: list[str], session=None) -> int:
        """Sent events about the candidate are deleted; unsent ones are redacted, so they still go out."""
        from shared.erasure import redact_payload

        about = {"$or": [{"envelope.payload.candidate_id": candidate_id},
                         {"envelope.payload.application_id": {"$in": application_ids}}]}
        erased = self.db.outbox.delete_many({"$and": [about, {"sent_at": {"$ne": None}}]},
                                            session=session).deleted_count
        for doc in list(self.db.outbox.find({"$and": [about, {"sent_at": None}]}, session=session)):
            payload = redact_payload(doc["envelope"].get("payload") or {})
            self.db.outbox.update_one({"_id": doc["_id"]}, {"$set": {"envelope.payload": payload}}, session=session)
            erased += 1
        # Events still waiting on their documents (write_document) are redacted the same way.
        about_ids = {candidate_id, *application_ids}
        for collection in self.documents_with_outbox:
            for doc in self.db[collection].find({"outbox_pending": True}, {"outbox": 1}, session=session):
                entries = doc.get("outbox") or []
                if not any(_names(e, about_ids) for e in entries):
                    continue
                redacted = [_redacted(e) if _names(e, about_ids) else e for e in entries]
                self.db[collection].update_one({"_id": doc["_id"]}, {"$set": {"outbox": redacted}}, session=session)
                erased += sum(1 for e in entries if _names(e, about_ids))
        return erased

    def mark_erased(self, candidate_id: str, erasure_id: str, application_ids: list[str] | None = None,
                    session=None) -> None:
        """The tombstone: the candidate and their applications, so events naming either are known as erased."""
        self.db.erased.update_one({"_id": candidate_id},
                                  {"$setOnInsert": {"erasure_id": erasure_id, "erased_at": utcnow()},
                                   "$addToSet": {"application_ids": {"$each": list(application_ids or [])},
                                                 "subjects": {"$each": [candidate_id, *(application_ids or [])]}}},
                                  upsert=True, session=session)

    def is_erased(self, candidate_id: str | None, session=None) -> bool:
        return candidate_id is not None and self.db.erased.find_one({"_id": candidate_id}, {"_id": 1},
                                                                    session=session) is not None

    def is_application_erased(self, application_id: str | None, session=None) -> bool:
        return application_id is not None and self.erased_any([], [application_id], session=session)

    def erased_any(self, candidate_ids: list[str], application_ids: list[str], session=None,
                   hint: bool = True) -> bool:
        """Whether any of these candidates, or the candidate of any of these applications, was erased here.
        One indexed look-up of every id a tombstone names (`subjects`); stores that know more (which
        candidate an application belongs to, tombstones from before application ids were kept) add to it
        in `erased_application_hint`."""
        ids = [*candidate_ids, *application_ids]
        if ids and self.db.erased.find_one({"subjects": {"$in": ids}}, {"_id": 1}, session=session) is not None:
            return True
        if not application_ids or not hint or candidate_ids:
            return False  # an event naming its candidate: every tombstone names its candidate, so it was found above
        return self.erased_application_hint(list(application_ids), session)

    def erased_application_hint(self, application_ids: list[str], session=None) -> bool:
        """Subclasses that keep applications say here whether one of them belongs to an erased candidate."""
        return False

    # -- lists ---------------------------------------------------------------------------------------
    def page(self, collection, query: dict, limit: int = 50, cursor: str | None = None,
             projection: dict | None = None) -> tuple[list[dict], str | None]:
        """Ids are time-ordered, so `_id` order is creation order and the cursor is the last id seen."""
        limit = page_limit(limit)
        after = decode_cursor(cursor)
        if after:
            query = {"$and": [query, {"_id": {"$gt": after}}]}
        docs = list(collection.find(query, projection).sort("_id", ASCENDING).limit(limit + 1))
        next_cursor = encode_cursor(docs[limit - 1]["_id"]) if len(docs) > limit else None
        return docs[:limit], next_cursor


# ----------------------------------------------------------------------------------------------------
# One atomic document write per handler (docs/decisions/004-one-document-writes.md)
#
# Where one document (an aggregate: an application's projection, a screening result) can hold what a
# handler changes, the change, the mark that the event was handled and the events it causes go in ONE
# write of that document: no transaction, no inbox or outbox collection. The document carries
#   _rev            incremented by every write; a write is conditional on the _rev it read (optimistic)
#   inbox           the ids of the last INBOX_KEEP events applied to it (a redelivery is seen there)
#   outbox          events caused by its writes and not yet relayed (signed and published after the write,
#                   then pulled off in batches)
#   outbox_pending  true while the outbox may hold events (sparse index: the sweep finds them in one query)
BOOKKEEPING = ("_rev", "inbox", "outbox", "outbox_pending", "outbox_lease")
INBOX_KEEP = 64


class DocumentChange:
    """What one handler does to one document: the events it emits (kept on the document until relayed)."""

    def __init__(self, store: ServiceStore, headers: dict[str, Any], correlation_id: str | None,
                 causation_id: str | None):
        self.store = store
        self.headers = headers
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.emitted: list[EventEnvelope] = []
        self.entries: list[dict] = []

    def emit(self, event_type: str, payload: BaseModel | dict) -> EventEnvelope:
        body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        envelope = EventEnvelope(type=event_type, producer=self.store.owner, correlation_id=self.correlation_id,
                                 causation_id=self.causation_id, payload=body)
        self.emitted.append(envelope)
        self.entries.append({"_id": envelope.event_id, "type": event_type, "envelope": envelope.model_dump(mode="json"),
                             "headers": self.headers, "created_at": utcnow()})
        return envelope


def state_of(doc: dict | None) -> dict | None:
    """The document without the write bookkeeping (what a handler decides on and a view shows)."""
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in BOOKKEEPING}


def document_update(before: dict, after: dict, rev: int, entries: list[dict], event_id: str | None) -> dict:
    """The update taking `before` to `after`: top-level fields set or unset, the outbox and inbox appended to
    (never replaced: the relay pulls sent events off concurrently)."""
    update: dict[str, Any] = {"$set": {k: v for k, v in after.items() if k != "_id" and before.get(k, _MISSING) != v}}
    update["$set"]["_rev"] = rev + 1
    removed = [k for k in before if k not in after and k != "_id"]
    if removed:
        update["$unset"] = dict.fromkeys(removed, "")
    push: dict[str, Any] = {}
    if entries:
        push["outbox"] = {"$each": entries}
        update["$set"]["outbox_pending"] = True
    if event_id is not None:
        push["inbox"] = {"$each": [event_id], "$slice": -INBOX_KEEP}
    if push:
        update["$push"] = push
    return update


_MISSING = object()


def _names(entry: dict, ids: set[str]) -> bool:
    """Whether a document outbox entry's event names one of these candidate or application ids."""
    payload = (entry.get("envelope") or {}).get("payload") or {}
    return payload.get("candidate_id") in ids or payload.get("application_id") in ids


def _redacted(entry: dict) -> dict:
    from shared.erasure import redact_payload

    envelope = entry["envelope"]
    return {**entry, "envelope": {**envelope, "payload": redact_payload(envelope.get("payload") or {})}}


def _on_id(exc: DuplicateKeyError) -> bool:
    """Whether a duplicate key error is about `_id` (the document exists) rather than another unique index."""
    details = exc.details or {}
    if "keyPattern" in details:
        return set(details["keyPattern"]) == {"_id"}
    return "index: _id_ " in str(details.get("errmsg", exc))
