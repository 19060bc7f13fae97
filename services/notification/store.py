"""Notification's own database.

- `contacts`: one per application (`_id` = application id), made by whichever of its events comes first
  (written with `write_document`: `_rev`, `inbox`): who to write to and what about (`application_received`),
  the latest status seen (ordered by `status_sequence`) and interview evidence; `notices`, how many notices
  were created for it (0: nothing to cancel, nothing to re-key; missing on contacts from before it was kept),
  and `pending`, a status that plans notices and came before the address (planned when it comes).
- `members`: one per talent-community sign-up (`_id` = the member's id, `mem_...`): name, sealed address,
  locale, from `community_signup_requested`; deleted when they leave (`community_member_left`).
- `policies`: one per division (`_id` = division); missing fields take NotificationPolicy defaults.
- `notices`: every notice, unique by `dedupe_key` (application or re-engagement, kind, step; an interview's:
  interview, kind, sequence, step, recipient), with its due time; dispatchers claim due notices atomically
  with a lease, so two replicas never send one. An interview notice keeps `interview_id`, `to` (the panel
  member's name; null for the candidate) and, when it carries an .ics, `invite` (sealed).
- `interviews`: notification's copy of each interview (services/notification/interviews.py): the latest
  by `sequence`, the panel (addresses sealed), scorecards seen, the candidate's attendance.

Personal data is sealed on disk (shared/crypto.py): a contact's email arrives sealed in the event and is
kept so; a notice's recipient and body (which may quote the candidate's address) are sealed when stored
and opened when read back, so callers of this store see plain notices. A policy's `hr_webhook_secret` is
sealed the same way (written sealed, opened on read; one stored in clear by an older version still reads,
and is sealed when the service starts, `seal_clear_secrets`), and so are its chat webhook URLs and a chat
notice's message (`chat`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.notification.domain import CANCELLED, SCHEDULED, SENDING, SENT
from shared.crypto import open_sealed, seal
from shared.erasure import ERASED
from shared.storage import ServiceStore, document_update, state_of, update_and_get
from shared.timeutil import utcnow

CLAIM_CANDIDATES = 20
SEALED_NOTICE_FIELDS = ("recipient", "body")
# An interview notice's calendar entry (interviews.invite: names, addresses, place), sealed as JSON.
SEALED_INVITE_FIELD = "invite"
SEALED_POLICY_FIELD = "hr_webhook_secret"
# The chat webhook URLs are credentials too (services/notification/chat.py): sealed like the secret.
SEALED_CHAT_POLICY_FIELDS = ("slack_webhook_url", "teams_webhook_url")
# A chat notice's message (chat.Message: its headline names the candidate), sealed as JSON.
SEALED_CHAT_FIELD = "chat"


def _sealed(notice: dict) -> dict:
    sealed = {**notice, **{f: seal(notice[f]) for f in SEALED_NOTICE_FIELDS if f in notice}}
    for field in (SEALED_INVITE_FIELD, SEALED_CHAT_FIELD):
        if isinstance(notice.get(field), dict):
            sealed[field] = seal(json.dumps(notice[field], sort_keys=True))
    return sealed


def _opened(notice: dict | None) -> dict | None:
    if notice is not None:
        for f in SEALED_NOTICE_FIELDS:
            if f in notice:
                notice[f] = open_sealed(notice[f])
        for field in (SEALED_INVITE_FIELD, SEALED_CHAT_FIELD):
            if isinstance(notice.get(field), str):
                notice[field] = json.loads(open_sealed(notice[field]))
    return notice


class NotificationStore(ServiceStore):
    owner = "notification"

    def create_indexes(self) -> None:
        self.db.contacts.create_index([("candidate_id", ASCENDING), ("received_at", DESCENDING)])
        self.db.notices.create_index([("dedupe_key", ASCENDING)], unique=True)
        self.db.notices.create_index([("status", ASCENDING), ("scheduled_for", ASCENDING)])
        self.db.notices.create_index([("status", ASCENDING), ("lease_until", ASCENDING)])
        self.db.notices.create_index([("application_id", ASCENDING), ("_id", ASCENDING)])
        self.db.notices.create_index([("candidate_id", ASCENDING), ("_id", ASCENDING)])
        self.db.timing.create_index([("division", ASCENDING), ("decided_at", ASCENDING)])
        self.db.notices.create_index([("interview_id", ASCENDING), ("status", ASCENDING)], sparse=True)
        self.db.interviews.create_index([("division", ASCENDING), ("starts_at", ASCENDING)])
        self.seal_clear_secrets()  # a one-off migration, idempotent: nothing to do once every secret is sealed

    # -- contacts ----------------------------------------------------------------------------------
    def write_contact(self, stored: dict, state: dict, event_id: str | None, session=None) -> bool:
        """`stored` (as read) becomes `state`, the event marked handled on it: the write `write_document` makes,
        for a change that goes in a transaction with notices. False when the contact changed since it was read."""
        update = document_update(state_of(stored), {**state, "_id": stored["_id"]}, stored.get("_rev") or 0, [],
                               event_id)
        return self.db.contacts.update_one({"_id": stored["_id"], "_rev": stored.get("_rev")}, update,
                                           session=session).matched_count == 1

    def count_notices(self, application_id: str, created: int, session=None) -> None:
        """Notices were created for the application outside a contact write (approval progress, reminders)."""
        self.db.contacts.update_one({"_id": application_id}, {"$inc": {"notices": created, "_rev": 1}},
                                    session=session)

    def upsert_contact(self, application_id: str, fields: dict, session=None) -> None:
        self.db.contacts.update_one({"_id": application_id}, {"$set": fields}, upsert=True, session=session)

    def acknowledged(self, application_id: str, created: int, session=None) -> None:
        """The acknowledgement of a self-applied candidate exists: the mark goes, the count grows, `_rev` moves
        (a contact write that read it before retries)."""
        self.db.contacts.update_one({"_id": application_id},
                                    {"$unset": {"ack_due": ""}, "$inc": {"notices": created, "_rev": 1}},
                                    session=session)

    # -- talent-community members (issue 18): who to write to, per sign-up (`_id` = the member's id) ------
    def save_member(self, contact: dict, session=None) -> None:
        self.db.members.replace_one({"_id": contact["_id"]}, contact, upsert=True, session=session)

    def get_member(self, member_id: str, session=None) -> dict | None:
        return self.db.members.find_one({"_id": member_id}, session=session)

    def forget_member(self, member_id: str, session=None) -> None:
        self.db.members.delete_one({"_id": member_id}, session=session)

    def get_contact(self, application_id: str, session=None) -> dict | None:
        return self.db.contacts.find_one({"_id": application_id}, session=session)

    def latest_contact_for_candidate(self, candidate_id: str, session=None) -> dict | None:
        """The candidate's most recent application: the freshest email address we know."""
        return self.db.contacts.find_one(
            {"candidate_id": candidate_id}, sort=[("received_at", DESCENDING), ("_id", DESCENDING)], session=session
        )

    def erased_application_hint(self, application_ids: list[str], session=None) -> bool:
        """A contact anonymised by an erasure (tombstones from before they named applications)."""
        return self.db.contacts.find_one({"_id": {"$in": application_ids}, "erased": True}, {"_id": 1},
                                         session=session) is not None

    def step_decided(self, application_id: str, step: int, session=None) -> None:
        self.db.contacts.update_one({"_id": application_id}, {"$addToSet": {"decided_steps": step},
                                                              "$inc": {"_rev": 1}}, session=session)

    def update_contact(self, application_id: str, fields: dict, session=None) -> None:
        # `_rev` moves, so a document write that read the contact before this reads it again.
        self.db.contacts.update_one({"_id": application_id}, {"$set": fields, "$inc": {"_rev": 1}}, session=session)

    # -- policies ----------------------------------------------------------------------------------
    def get_policy(self, division: str, session=None) -> dict | None:
        """The stored policy with its webhook secret opened (a secret stored in clear before sealing
        existed reads as it is)."""
        doc = self.db.policies.find_one({"_id": division}, session=session)
        if doc is not None and doc.get(SEALED_POLICY_FIELD) is not None:
            doc[SEALED_POLICY_FIELD] = open_sealed(doc[SEALED_POLICY_FIELD])
        for field in SEALED_CHAT_POLICY_FIELDS:  # never stored in clear
            if doc is not None and doc.get(field) is not None:
                doc[field] = open_sealed(doc[field])
        return doc

    def put_policy(self, division: str, policy: dict, session=None) -> None:
        doc = {"_id": division, **policy}
        for field in (SEALED_POLICY_FIELD, *SEALED_CHAT_POLICY_FIELDS):
            if doc.get(field) is not None:
                doc[field] = seal(doc[field])
        self.db.policies.replace_one({"_id": division}, doc, upsert=True, session=session)

    def seal_clear_secrets(self) -> int:
        """Seal webhook secrets stored in clear (before they were sealed); at start-up. Returns how many.
        Each update is conditional on the clear value, so two replicas starting at once seal it once."""
        sealed = 0
        for doc in self.db.policies.find({SEALED_POLICY_FIELD: {"$type": "string", "$not": {"$regex": "^pd1:"}}},
                                         {SEALED_POLICY_FIELD: 1}):
            clear = doc[SEALED_POLICY_FIELD]
            sealed += self.db.policies.update_one({"_id": doc["_id"], SEALED_POLICY_FIELD: clear},
                                                  {"$set": {SEALED_POLICY_FIELD: seal(clear)}}).modified_count
        return sealed

    # -- notices -----------------------------------------------------------------------------------
    def add_notice(self, doc: dict, session=None) -> bool:
        """Create the notice unless one with its dedupe key exists (then nothing changes). True if created.

        An upsert on the key rather than an insert: inside a transaction a duplicate-key error would abort
        the whole unit of work; concurrent transactions conflict and are retried by `transact`.

        A notice of that key that was cancelled does not count: a later change may plan it again (a
        screen-out's rejection, waiting its delay, is cancelled by an override; the rejection after the
        interviews that follow is a new notice). The cancelled one keeps its record under a retired key."""
        fields = {k: v for k, v in _sealed(doc).items() if k != "dedupe_key"}
        cancelled = self.db.notices.find_one({"dedupe_key": doc["dedupe_key"], "status": CANCELLED}, {"_id": 1},
                                             session=session)
        if cancelled is not None:
            self.db.notices.update_one({"_id": cancelled["_id"], "status": CANCELLED}, {"$set": {
                "dedupe_key": f"{doc['dedupe_key']}:cancelled:{cancelled['_id']}"}}, session=session)
        try:
            result = self.db.notices.update_one(
                {"dedupe_key": doc["dedupe_key"]}, {"$setOnInsert": fields}, upsert=True, session=session
            )
        except DuplicateKeyError:  # a concurrent insert outside a transaction won the race
            return False
        return result.upserted_id is not None

    def add_notices(self, docs: list[dict], *, first: bool, session=None) -> list[str]:
        """Create notices (as `add_notice`); returns the ids of those created. `first`: the application has no
        notice yet (its contact's count), so no key can be taken: one insert for them all."""
        if not first:
            return [d["_id"] for d in docs if self.add_notice(d, session=session)]
        if docs:
            try:
                self.db.notices.insert_many([_sealed(d) for d in docs], ordered=False, session=session)
            except BulkWriteError as exc:  # outside a transaction: a racing writer created some of them
                taken = {e["index"] for e in exc.details.get("writeErrors", [])}
                return [d["_id"] for i, d in enumerate(docs) if i not in taken]
        return [d["_id"] for d in docs]

    def get_notice(self, notice_id: str, session=None) -> dict | None:
        return _opened(self.db.notices.find_one({"_id": notice_id}, session=session))

    def cancel_scheduled(self, application_id: str, kinds: frozenset[str] | set[str] | None = None,
                         now: datetime | None = None, session=None, step: int | None = None,
                         keep: frozenset[str] = frozenset()) -> int:
        """Cancel the application's notices still waiting (all, or only `kinds`, or one `step`; never those of
        the `keep` kinds); sent ones stay."""
        query: dict[str, Any] = {"application_id": application_id, "status": SCHEDULED}
        if kinds is not None:
            query["kind"] = {"$in": sorted(kinds)}
        elif keep:
            query["kind"] = {"$nin": sorted(keep)}
        if step is not None:
            query["step"] = step
        update = {"$set": {"status": CANCELLED, "cancelled_at": now, "lease_until": None}}
        return self.db.notices.update_many(query, update, session=session).modified_count

    def cancel_interview_notices(self, interview_id: str, kinds: frozenset[str], now: datetime,
                                 recipient: str | None = None, session=None) -> int:
        """Cancel an interview's notices of `kinds` still waiting (one panel member's, `to`, or everyone's)."""
        query: dict[str, Any] = {"interview_id": interview_id, "status": SCHEDULED, "kind": {"$in": sorted(kinds)}}
        if recipient is not None:
            query["to"] = recipient
        return self.db.notices.update_many(query, {"$set": {"status": CANCELLED, "cancelled_at": now,
                                                           "lease_until": None}}, session=session).modified_count

    # -- interviews (notification's copy: services/notification/interviews.py) ---------------------------
    def get_interview(self, interview_id: str, session=None) -> dict | None:
        return self.db.interviews.find_one({"_id": interview_id}, session=session)

    def save_interview(self, interview: dict, session=None) -> None:
        self.db.interviews.replace_one({"_id": interview["_id"]}, interview, upsert=True, session=session)

    def held_interviews(self, divisions: list[str] | None, division: str | None, start: datetime | None = None,
                        end: datetime | None = None, *, with_attendance: bool = False) -> list[dict]:
        """Interviews with a time in the caller's scope, optionally starting in [start, end) or with attendance."""
        query: dict[str, Any] = {"starts_at": {"$ne": None}}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        if division is not None:
            query["division"] = division if divisions is None or division in divisions else {"$in": []}
        if start is not None:
            query["starts_at"]["$gte"] = start
        if end is not None:
            query["starts_at"]["$lt"] = end
        if with_attendance:
            query["attendance"] = {"$ne": None}
        else:
            query["status"] = "scheduled"
        return list(self.db.interviews.find(query).sort("starts_at", ASCENDING))

    def claim_due(self, now: datetime, lease_seconds: int, only_ids: list[str] | None = None) -> dict | None:
        """Atomically take one due notice (or one whose sender's lease ran out) for sending."""
        if only_ids is None:
            # Two indexed look-ups find candidates; the claim below re-checks the condition atomically.
            candidates = [d["_id"] for d in self.db.notices.find(
                {"status": SCHEDULED, "scheduled_for": {"$lte": now}}, {"_id": 1}).sort(
                "scheduled_for", ASCENDING).limit(CLAIM_CANDIDATES)]
            candidates += [d["_id"] for d in self.db.notices.find(
                {"status": SENDING, "lease_until": {"$lt": now}}, {"_id": 1}).limit(CLAIM_CANDIDATES)]
        else:
            candidates = list(only_ids)
        claim = {"$set": {"status": SENDING, "lease_until": now + timedelta(seconds=lease_seconds)},
                 "$inc": {"attempts": 1}}
        for notice_id in candidates:
            # Two conditional updates rather than one with $or (a collection scan on some servers).
            doc = update_and_get(self.db.notices, {"_id": notice_id, "status": SCHEDULED,
                                                   "scheduled_for": {"$lte": now}}, claim) \
                or update_and_get(self.db.notices, {"_id": notice_id, "status": SENDING,
                                                    "lease_until": {"$lt": now}}, claim)
            if doc is not None:
                return _opened(doc)
        return None

    # What the scheduler still has to do, for the `hireloop_scheduler_backlog` gauge.
    SCHEDULER_STATES = ("due", "later", "sending")

    def scheduler_backlog(self, state: str) -> int:
        """Notices in one of SCHEDULER_STATES (one count query: each gauge asks for its own state)."""
        now = utcnow()
        query = {"due": {"status": SCHEDULED, "scheduled_for": {"$lte": now}},
                 "later": {"status": SCHEDULED, "scheduled_for": {"$gt": now}},
                 "sending": {"status": SENDING}}[state]
        return self.db.notices.count_documents(query)

    def mark_notice_sent(self, notice_id: str, attempts: int, sent_at: datetime, message_id: str | None = None,
                  session=None) -> bool:
        """Only the claim that sent it (same attempt number, still sending) may mark it sent."""
        result = self.db.notices.update_one(
            {"_id": notice_id, "status": SENDING, "attempts": attempts},
            {"$set": {"status": SENT, "sent_at": sent_at, "lease_until": None, "error": None,
                      "message_id": message_id}},
            session=session,
        )
        return result.modified_count == 1

    def record_failure(self, notice_id: str, attempts: int, update: dict, session=None) -> bool:
        result = self.db.notices.update_one(
            {"_id": notice_id, "status": SENDING, "attempts": attempts}, {"$set": update}, session=session
        )
        return result.modified_count == 1

    def notices_for_application(self, application_id: str, divisions: list[str] | None, limit: int,
                                cursor: str | None) -> tuple[list[dict], str | None]:
        query: dict[str, Any] = {"application_id": application_id}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        docs, next_cursor = self.page(self.db.notices, query, limit, cursor)
        return [_opened(d) for d in docs], next_cursor

    def notices_for_candidate(self, candidate_id: str, divisions: list[str] | None, limit: int,
                              cursor: str | None) -> tuple[list[dict], str | None]:
        query: dict[str, Any] = {"candidate_id": candidate_id}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        docs, next_cursor = self.page(self.db.notices, query, limit, cursor)
        return [_opened(d) for d in docs], next_cursor

    # -- timing measurements (one per result notice: offer or rejection) --------------------------
    def add_timing(self, record: dict, session=None) -> None:
        """Keep the first record of an application's result (a re-planned notice does not reset it)."""
        fields = {k: v for k, v in record.items() if k != "_id"}
        self.db.timing.update_one({"_id": record["_id"]}, {"$setOnInsert": fields}, upsert=True, session=session)

    def drop_unsent_timing(self, application_id: str, session=None) -> None:
        """Forget a result that never went out (a screen-out's rejection cancelled by an override), so the
        application's real result is measured when it comes."""
        self.db.timing.delete_one({"_id": application_id, "sent_at": None}, session=session)

    def timing_sent(self, application_id: str, kind: str, sent_at: datetime, delay: float, session=None) -> None:
        self.db.timing.update_one({"_id": application_id, "kind": kind, "sent_at": None},
                                  {"$set": {"sent_at": sent_at, "delay_seconds": delay}}, session=session)

    def timing_outcome(self, application_id: str, outcome: str, at: datetime, session=None) -> None:
        self.db.timing.update_one({"_id": application_id}, {"$set": {"outcome": outcome, "outcome_at": at}},
                                  session=session)

    def record_survey(self, application_id: str, score: int, comment: str, at: datetime, session=None) -> bool:
        """The first answer counts; False when the survey was answered already."""
        result = self.db.timing.update_one(
            {"_id": application_id, "survey_score": None},
            {"$set": {"survey_score": score, "survey_comment": comment, "surveyed_at": at}}, session=session)
        return result.modified_count == 1

    def get_timing(self, application_id: str, session=None) -> dict | None:
        return self.db.timing.find_one({"_id": application_id}, session=session)

    def timing_records(self, divisions: list[str] | None, division: str | None, start: datetime | None,
                       end: datetime | None) -> list[dict]:
        query: dict[str, Any] = {}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        if division is not None:
            query["division"] = division if divisions is None or division in divisions else {"$in": []}
        span: dict[str, Any] = {}
        if start is not None:
            span["$gte"] = start
        if end is not None:
            span["$lt"] = end
        if span:
            query["decided_at"] = span
        return list(self.db.timing.find(query, {"survey_comment": 0}))

    # -- right of access and erasure --------------------------------------------------------------------
    def all_notices_for(self, candidate_id: str, application_ids: list[str]) -> list[dict]:
        query = {"$or": [{"candidate_id": candidate_id}, {"application_id": {"$in": application_ids}}]}
        return [_opened(d) for d in self.db.notices.find(query).sort("_id", ASCENDING)]

    def timing_for(self, application_ids: list[str]) -> list[dict]:
        return list(self.db.timing.find({"_id": {"$in": application_ids}}).sort("_id", ASCENDING))

    def anonymise(self, candidate_id: str, application_ids: list[str], session) -> dict[str, int]:
        """Waiting notices are cancelled; every notice keeps its kind, times and status (timing figures) but
        loses its recipient, subject and body; contacts lose name, address and evidence; a survey keeps
        its score, not its comment."""
        about = {"$or": [{"candidate_id": candidate_id}, {"application_id": {"$in": application_ids}}]}
        cancelled = self.db.notices.update_many(
            {"$and": [about, {"status": {"$in": [SCHEDULED, SENDING]}}]},
            {"$set": {"status": CANCELLED, "cancelled_at": utcnow(), "lease_until": None}},
            session=session).modified_count
        notices = self.db.notices.update_many(
            about, {"$set": {"recipient": ERASED, "subject": ERASED, "body": ERASED, "error": None},
                    # the calendar entry and a chat message named the candidate too
                    "$unset": {SEALED_INVITE_FIELD: "", SEALED_CHAT_FIELD: ""}},
            session=session).modified_count
        contacts = self.db.contacts.update_many(
            {"$or": [{"candidate_id": candidate_id}, {"_id": {"$in": application_ids}}]},
            # `erased` is what the document writes' guard reads; `_rev` moves so a write in flight reads again.
            {"$set": {"name": ERASED, "email": None, "erased": True}, "$inc": {"_rev": 1},
             "$unset": {"interview_highlights": "", "pending": ""}},
            session=session).modified_count
        surveys = self.db.timing.update_many({"_id": {"$in": application_ids}}, {"$set": {"survey_comment": None}},
                                             session=session).modified_count
        return {"notices": notices, "notices_cancelled": cancelled, "contacts": contacts, "surveys": surveys}

    def survey_sent(self, application_id: str, session=None) -> bool:
        return self.db.notices.find_one({"application_id": application_id, "kind": "survey", "status": SENT},
                                        {"_id": 1}, session=session) is not None
