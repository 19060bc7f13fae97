"""A service's own copy of application statuses: a projection fed by sourcing's `application_status_changed`.

Services whose commands depend on an application's status (screening's override, interview_feedback's
interview and decision) read this copy instead of asking sourcing. The rules are shared/contracts/status.py;
sourcing checks the move again when the command's event reaches it.

- Store side, `StatusProjection` (a mixin of the service's store): collection `application_status`, one document
  per application `{_id, candidate_id, requisition_id, division, tier, status, sequence, at}`. Changes arrive
  in any order; one applies only if it supersedes the one held (`status.supersedes`), in one conditional
  upsert (`project_status`: no read, no transaction, no inbox record needed). Ids and a status, no personal
  data: it is not part of a right-of-access export, and an erasure marks it erased and keeps it (ids and
  statuses are what an erasure keeps, shared/erasure.py); an erased copy takes no later change. Kept, it
  still scopes the application to its division and lets a command answer `application_erased`. A change
  for an application the copy never held is applied without looking for a tombstone (ids and a status only).
  `received_change`: the first change, from `application_received`, for a service that gets that event
  anyway (the copy then does not wait for sourcing's own first change, nor depend on receiving it).
- Command side, `for_command`: the projected application for a command with a status precondition. NotFound
  when unknown or another division's (api-v1 never says it exists), Conflict `invalid_status` when refused.
  The projection may be just behind sourcing (the change the client saw through sourcing is on its way), so
  a command waits briefly when the status it needs can still come; it answers exactly as it did when it asked
  sourcing, a moment later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared import ids
from shared.contracts.caller import Caller
from shared.contracts.common import AppStatus
from shared.contracts.events import ApplicationReceived, ApplicationStatusChanged
from shared.contracts.status import Precondition, Verdict, check
from shared.errors import Conflict, NotFound
from shared.timeutil import utcnow

# How long a command waits for its projection to catch up, and how often it looks again.
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05
# An application the projection does not know is waited for only if sourcing could have made it lately: an id
# the API never gave out is not found at once (the event carrying a new application comes within moments).
UNKNOWN_HORIZON = timedelta(minutes=5)
# A waiting command holds a worker, and the same workers feed the projection: only a few wait at once.
MAX_WAITING = 4
_waiting = threading.BoundedSemaphore(MAX_WAITING)
# Where the copy keeps the `at` of a held change that has no `sequence` (legacy producers): see _older_than.
UNSEQUENCED_AT = "unsequenced_at"


class StatusProjection:
    """Mixed into a ServiceStore: the service's copy of application statuses."""

    db: Database  # the ServiceStore's own

    def project_status(self, change: ApplicationStatusChanged, session=None) -> bool:
        """Apply a status change unless the copy already holds a newer one (or is erased); True when applied.

        One conditional upsert, no read: the filter is `supersedes` (shared/contracts/status.py) stated on the
        held document, so the write applies exactly when the change supersedes what is held. When it does
        not, the upsert tries to insert a second document with that id: DuplicateKeyError, not applied.
        Idempotent and monotonic, so it needs no inbox record: a redelivery is an equal change, not applied
        again. An erased copy keeps `erased` and its status (ids and a status only; the tombstone's rule)."""
        update = {"$set": {
            "candidate_id": change.candidate_id,
            "requisition_id": change.requisition_id,
            "division": change.division,
            "tier": change.tier,
            "status": change.status,
            "sequence": change.sequence,
            "at": change.at,
        }}
        if change.sequence:
            update["$unset"] = {UNSEQUENCED_AT: ""}
        else:
            update["$set"][UNSEQUENCED_AT] = change.at
        held_is_older = {"_id": change.application_id, "erased": {"$ne": True}, **_older_than(change)}
        try:
            result = self.db.application_status.update_one(held_is_older, update, upsert=True, session=session)
        except DuplicateKeyError:
            # Held is newer or erased -- or another change created the document between this write's
            # look-up and its insert (the server does not retry an upsert whose filter is not equalities
            # only): once more as a plain update, which now finds the document.
            result = self.db.application_status.update_one(held_is_older, update, session=session)
        return result.matched_count == 1 or result.upserted_id is not None

    def projected_application(self, application_id: str, session=None) -> dict | None:
        return self.db.application_status.find_one({"_id": application_id}, session=session)

    def mark_statuses_erased(self, application_ids: list[str], session) -> int:
        """The erasure's part here: nothing personal to remove; marked, so the count shows it was handled."""
        return self.db.application_status.update_many({"_id": {"$in": list(application_ids)}},
                                                      {"$set": {"erased": True}}, session=session).modified_count


# The first change of every application: sourcing numbers its changes by timeline entry, the first being
# `received` (services/sourcing/domain.py, status_changed; tests/unit/test_status_projection.py checks it).
FIRST_SEQUENCE = 1


def received_change(received: ApplicationReceived) -> ApplicationStatusChanged:
    """The status change sourcing makes when it receives an application, as `application_received` tells it:
    the same sequence and time, so whichever of the two reaches a copy first, the other changes nothing."""
    req = received.requisition
    return ApplicationStatusChanged(
        sequence=FIRST_SEQUENCE, application_id=received.application_id, candidate_id=received.candidate_id,
        requisition_id=req.id, requisition_title=req.title, division=req.division, department=req.department,
        tier=req.tier, urgent=req.urgent, source=received.source, talent_pool_consent=received.talent_pool_consent,
        previous_status=None, status=AppStatus.received.value, at=received.received_at)


def _older_than(change: ApplicationStatusChanged) -> dict:
    """The held document's fields when `change` supersedes it (`supersedes`), as one filter with no `$or`
    (which the embedded store answers with a collection scan): held by `sequence` when both have one, else by
    `at`. A held change without sequence keeps its `at` in UNSEQUENCED_AT too, and a held sequenced one has
    none there (`$not` matches a missing field), so each clause binds only in its own case. (A document
    written before UNSEQUENCED_AT, with sequence 0, is then superseded by any sequenced change: those all
    came after the producer started numbering.)"""
    if change.sequence:
        return {"sequence": {"$not": {"$gte": change.sequence}}, UNSEQUENCED_AT: {"$not": {"$gt": change.at}}}
    return {"at": {"$not": {"$gt": change.at}}}


def may_be_on_its_way(application_id: str, now: datetime) -> bool:
    made = ids.created_at(application_id, "app")
    return made is not None and now - UNKNOWN_HORIZON <= made <= now + UNKNOWN_HORIZON


def for_command(read: Callable[[str], dict | None], application_id: str, caller: Caller, pre: Precondition | None,
                *, may_still_move: Callable[[dict], bool] | None = None, wait_seconds: float = WAIT_SECONDS,
                clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] | None = None,
                now: Callable[[], datetime] = utcnow) -> dict:
    """The projected application (`read(application_id)`) once `pre` allows its status (None: any status).

    `may_still_move(doc)`: False when the caller's own records show that the status `pre` needs cannot come
    without something that has not happened here (then a refusal is answered at once, not after the wait)."""
    sleep = sleep or time.sleep  # looked up now: eventlet's, once the service process has patched `time`
    deadline = clock() + wait_seconds
    waiting = False
    try:
        while True:
            doc = read(application_id)
            if doc is not None and not caller.can_see(doc["division"]):
                raise NotFound(f"application {application_id} not found")
            if doc is None:
                verdict = Verdict.wait if may_be_on_its_way(application_id, now()) else Verdict.refused
            elif pre is None:
                verdict = Verdict.allowed
            else:
                verdict = check(pre, doc["status"], may_still_move=may_still_move(doc) if may_still_move else True)
            if verdict == Verdict.allowed:
                return doc
            if verdict == Verdict.wait and clock() < deadline:
                waiting = waiting or _waiting.acquire(blocking=False)
                if waiting:
                    sleep(POLL_SECONDS)
                    continue
            if doc is None:
                raise NotFound(f"application {application_id} not found")
            raise Conflict(pre.refusal(doc["status"]), code="invalid_status")
    finally:
        if waiting:
            _waiting.release()
