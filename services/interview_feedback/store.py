"""interview_feedback's own database: interviews, scorecards, decisions and approval steps.

- `interviews`: at most one live per application (`live_for`: its application id, unique, removed when the
  interview is cancelled, so the application can be scheduled again); `submitted` lists the panel members
  whose card is in, updated in the same transaction as the card so the last card is seen exactly once.
- `kits`: one interview kit per requisition (`_id` is the requisition id).
- `scorecards`: one per (interview, interviewer).
- `decisions`: one per application (`_id` is the application id).
- `approvals`: the steps of a core role's chain, one per (application, step).
- `application_status`: its copy of application statuses (shared/status_projection.py): what scheduling and
  deciding check.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING, DESCENDING

from shared.status_projection import StatusProjection
from shared.storage import ServiceStore, match, update_and_get


class InterviewFeedbackStore(StatusProjection, ServiceStore):
    owner = "interview_feedback"

    def create_indexes(self) -> None:
        # Before the interviews issue an application had one interview ever (unique application_id); now one
        # live at a time, and the earlier interviews stay live.
        old = self.db.interviews.index_information().get("application_id_1")
        if old is not None and old.get("unique"):
            self.db.interviews.drop_index("application_id_1")
            for doc in self.db.interviews.find({"live_for": {"$exists": False}, "status": {"$ne": "cancelled"}},
                                               {"application_id": 1}):
                self.db.interviews.update_one({"_id": doc["_id"]}, {"$set": {"live_for": doc["application_id"]}})
        self.db.interviews.create_index([("application_id", ASCENDING)])
        self.db.interviews.create_index([("live_for", ASCENDING)], unique=True, sparse=True, name="one_live_interview")
        self.db.interviews.create_index([("interviewers", ASCENDING), ("scheduled_at", ASCENDING)])
        self.db.interviews.create_index([("division", ASCENDING)])
        self.db.interviews.create_index([("interviewers", ASCENDING)])
        self.db.approvals.create_index([("status", ASCENDING), ("division", ASCENDING)])
        self.db.scorecards.create_index([("interview_id", ASCENDING), ("interviewer", ASCENDING)], unique=True)
        self.db.approvals.create_index([("application_id", ASCENDING), ("step", ASCENDING)], unique=True)

    # -- interviews ----------------------------------------------------------------------------------
    def get_interview(self, interview_id: str, session=None) -> dict | None:
        return self.db.interviews.find_one({"_id": interview_id}, session=session)

    def interview_for_application(self, application_id: str, session=None) -> dict | None:
        """The application's live interview (open or complete); else its latest, cancelled one; else None."""
        found = self.db.interviews.find_one({"live_for": application_id}, session=session)
        if found is not None:
            return found
        latest = list(self.db.interviews.find({"application_id": application_id}, session=session)
                      .sort("_id", DESCENDING).limit(1))
        return latest[0] if latest else None

    def insert_interview(self, doc: dict, session) -> None:
        """Raises DuplicateKeyError when the application already has a live interview."""
        self.db.interviews.insert_one(doc, session=session)

    def replace_interview(self, before: dict, after: dict, session=None) -> bool:
        """Write `after` if the interview is still as `before` (status and sequence); False when it changed
        meanwhile. A cancelled interview drops `live_for`, freeing its application for another."""
        fields = {k: v for k, v in after.items() if k != "_id"}
        update: dict = {"$set": {k: v for k, v in fields.items() if k != "live_for"}}
        if after.get("status") == "cancelled":
            update["$unset"] = {"live_for": ""}
        result = self.db.interviews.update_one(
            {"_id": before["_id"], "status": before["status"], "sequence": before.get("sequence"),
             "scheduled_at": before.get("scheduled_at")}, update, session=session)
        return result.matched_count == 1

    def panel_interviews(self, names: list[str], start: datetime, end: datetime, session=None) -> list[dict]:
        """Interviews with a time that any of `names` sits in and that may overlap [start, end) (an interview
        lasts at most 480 minutes)."""
        return list(self.db.interviews.find(
            {"interviewers": {"$in": names}, "status": {"$in": ["scheduled", "complete"]},
             "scheduled_at": {"$lt": end, "$gt": start - timedelta(minutes=480)}},
            {"interviewers": 1, "scheduled_at": 1, "duration_minutes": 1, "status": 1, "division": 1},
            session=session))

    def mark_submitted(self, interview_id: str, interviewer: str, session) -> dict | None:
        """Record that `interviewer` submitted; None when it already had (or the interview is gone).
        Writing the interview document also makes concurrent last cards conflict, so one of them retries."""
        return update_and_get(self.db.interviews, {"_id": interview_id, "submitted": {"$nin": [interviewer]}},
                              {"$push": {"submitted": interviewer}}, session=session)

    def complete_interview(self, interview_id: str, completed_at, session) -> None:
        self.db.interviews.update_one(
            {"_id": interview_id}, {"$set": {"status": "complete", "completed_at": completed_at}}, session=session
        )

    def list_interviews(self, divisions: list[str] | None, interviewer: str | None, status: str | None,
                        application_id: str | None, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        query = match(divisions, application_id=application_id, interviewers=interviewer, status=status)
        return self.page(self.db.interviews, query, limit, cursor)

    # -- interview kits ------------------------------------------------------------------------------
    def get_kit(self, requisition_id: str) -> dict | None:
        return self.db.kits.find_one({"_id": requisition_id})

    def put_kit(self, doc: dict) -> None:
        self.db.kits.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    # -- scorecards ----------------------------------------------------------------------------------
    def insert_scorecard(self, doc: dict, session) -> None:
        """Raises DuplicateKeyError for a second card from the same interviewer."""
        self.db.scorecards.insert_one(doc, session=session)

    def scorecards(self, interview_id: str, session=None) -> list[dict]:
        return list(self.db.scorecards.find({"interview_id": interview_id}, session=session)
                    .sort([("submitted_at", ASCENDING), ("_id", ASCENDING)]))

    # -- decisions -----------------------------------------------------------------------------------
    def get_decision(self, application_id: str, session=None) -> dict | None:
        return self.db.decisions.find_one({"_id": application_id}, session=session)

    def insert_decision(self, doc: dict, session) -> None:
        """Raises DuplicateKeyError when the application was already decided."""
        self.db.decisions.insert_one(doc, session=session)

    # -- approvals -----------------------------------------------------------------------------------
    def insert_approvals(self, steps: list[dict], session) -> None:
        if steps:
            self.db.approvals.insert_many(steps, session=session)

    def get_approval(self, approval_id: str, session=None) -> dict | None:
        return self.db.approvals.find_one({"_id": approval_id}, session=session)

    def approvals(self, application_id: str, session=None) -> list[dict]:
        return list(self.db.approvals.find({"application_id": application_id}, session=session)
                    .sort("step", ASCENDING))

    def open_chains(self, divisions: list[str] | None) -> dict[str, list[dict]]:
        """Every step of each chain that still has a pending step, by application id."""
        query: dict = {"status": "pending"}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        ids = self.db.approvals.distinct("application_id", query)
        chains: dict[str, list[dict]] = {}
        for doc in self.db.approvals.find({"application_id": {"$in": ids}}).sort("step", ASCENDING):
            chains.setdefault(doc["application_id"], []).append(doc)
        return chains

    def update_pending_approval(self, step: dict, session) -> bool:
        """Write a decided step (domain shape, `id`) if it is still pending; False when someone decided first."""
        result = self.db.approvals.update_one(
            {"_id": step["id"], "status": "pending"},
            {"$set": {k: step[k] for k in ("status", "decided_at", "decided_by", "note")}},
            session=session,
        )
        return result.modified_count == 1

    def set_expected_by(self, approval_id: str, expected_by, session) -> None:
        self.db.approvals.update_one(
            {"_id": approval_id, "status": "pending"}, {"$set": {"expected_by": expected_by}}, session=session
        )

    def known_division(self, application_id: str) -> str | None:
        """The application's division as far as this service knows it (from a decision or interview)."""
        for doc in (self.get_decision(application_id), self.interview_for_application(application_id)):
            if doc is not None:
                return doc["division"]
        return None

    # -- the interviewers report ---------------------------------------------------------------------
    CARD_FIGURES = {"interview_id": 1, "interviewer": 1, "ratings": 1, "submitted_at": 1, "division": 1}

    def report_scorecards(self, divisions: list[str] | None, submitted: dict | None) -> list[dict]:
        """Scorecards in `divisions` (None: all) submitted in the `submitted` span (None: any time); figures only."""
        query: dict = {}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        if submitted:
            query["submitted_at"] = submitted
        return list(self.db.scorecards.find(query, self.CARD_FIGURES).sort("_id", ASCENDING))

    def interviews_with_cards(self, interview_ids: list[str]) -> tuple[dict[str, dict], dict[str, list[dict]]]:
        """(interview id -> interview, interview id -> every scorecard of it) for these interviews."""
        interviews = {d["_id"]: d for d in self.db.interviews.find({"_id": {"$in": interview_ids}},
                                                                    {"scheduled_at": 1, "division": 1})}
        cards: dict[str, list[dict]] = {i: [] for i in interview_ids}
        for card in self.db.scorecards.find({"interview_id": {"$in": interview_ids}}, self.CARD_FIGURES):
            cards.setdefault(card["interview_id"], []).append(card)
        return interviews, cards

    def erased_application_hint(self, application_ids: list[str], session=None) -> bool:
        """An application whose interview names an erased candidate (tombstones from before they named
        applications)."""
        docs = self.db.interviews.find({"application_id": {"$in": application_ids}}, {"candidate_id": 1},
                                       session=session)
        candidates = [d["candidate_id"] for d in docs if d.get("candidate_id")]
        return bool(candidates) and self.db.erased.find_one({"_id": {"$in": candidates}}, {"_id": 1},
                                                            session=session) is not None

    # -- right of access and erasure --------------------------------------------------------------------
    def interviews_for(self, application_ids: list[str], session=None) -> list[dict]:
        return list(self.db.interviews.find({"application_id": {"$in": application_ids}}, session=session)
                    .sort("_id", ASCENDING))

    def decisions_for(self, application_ids: list[str], session=None) -> list[dict]:
        return list(self.db.decisions.find({"_id": {"$in": application_ids}}, session=session).sort("_id", ASCENDING))

    def anonymise(self, application_ids: list[str], session) -> dict[str, int]:
        """Ratings, recommendations and outcomes stay (interviewer and decision reports); the free text
        written about the person goes."""
        about = {"application_id": {"$in": application_ids}}
        # The candidate's own words asking for other times, and why their interview was called off.
        self.db.interviews.update_many(about, {"$set": {"other_times_requested": []}}, session=session)
        self.db.interviews.update_many({**about, "cancellation": {"$type": "object"}},
                                       {"$set": {"cancellation.reason": ""}}, session=session)
        return {
            "scorecards": self.db.scorecards.update_many(about, {"$set": {"highlights": [], "notes": ""}},
                                                         session=session).modified_count,
            "decisions": self.db.decisions.update_many({"_id": {"$in": application_ids}}, {"$set": {"note": None}},
                                                       session=session).modified_count,
            "approvals": self.db.approvals.update_many(about, {"$set": {"note": None}},
                                                       session=session).modified_count,
        }
