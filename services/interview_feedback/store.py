"""interview_feedback's own database: interviews, scorecards, decisions and approval steps.

- `interviews`: one per application (unique `application_id`); `submitted` lists the panel members whose
  card is in, updated in the same transaction as the card so the last card is seen exactly once.
- `scorecards`: one per (interview, interviewer).
- `decisions`: one per application (`_id` is the application id).
- `approvals`: the steps of a core role's chain, one per (application, step).
- `application_status`: its copy of application statuses (shared/status_projection.py): what scheduling and
  deciding check.
"""

from __future__ import annotations

from pymongo import ASCENDING

from shared.status_projection import StatusProjection
from shared.storage import ServiceStore, match, update_and_get


class InterviewFeedbackStore(StatusProjection, ServiceStore):
    owner = "interview_feedback"

    def create_indexes(self) -> None:
        self.db.interviews.create_index([("application_id", ASCENDING)], unique=True)
        self.db.interviews.create_index([("division", ASCENDING)])
        self.db.interviews.create_index([("interviewers", ASCENDING)])
        self.db.approvals.create_index([("status", ASCENDING), ("division", ASCENDING)])
        self.db.scorecards.create_index([("interview_id", ASCENDING), ("interviewer", ASCENDING)], unique=True)
        self.db.approvals.create_index([("application_id", ASCENDING), ("step", ASCENDING)], unique=True)

    # -- interviews ----------------------------------------------------------------------------------
    def get_interview(self, interview_id: str, session=None) -> dict | None:
        return self.db.interviews.find_one({"_id": interview_id}, session=session)

    def interview_for_application(self, application_id: str, session=None) -> dict | None:
        return self.db.interviews.find_one({"application_id": application_id}, session=session)

    def insert_interview(self, doc: dict, session) -> None:
        """Raises DuplicateKeyError when the application already has an interview."""
        self.db.interviews.insert_one(doc, session=session)

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
        return {
            "scorecards": self.db.scorecards.update_many(about, {"$set": {"highlights": [], "notes": ""}},
                                                         session=session).modified_count,
            "decisions": self.db.decisions.update_many({"_id": {"$in": application_ids}}, {"$set": {"note": None}},
                                                       session=session).modified_count,
            "approvals": self.db.approvals.update_many(about, {"$set": {"note": None}},
                                                       session=session).modified_count,
        }
