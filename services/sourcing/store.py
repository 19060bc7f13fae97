"""Sourcing's own database: requisitions, candidates (one per normalised email) and applications
(one per candidate and requisition)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING

from shared.ids import new_id
from shared.storage import ServiceStore, update_and_get

CANDIDATE_EMAIL_INDEX = "candidate_email_key_unique"
APPLICATION_UNIQUE_INDEX = "application_candidate_requisition_unique"


class SourcingStore(ServiceStore):
    owner = "sourcing"

    def create_indexes(self) -> None:
        self.db.requisitions.create_index([("division", ASCENDING), ("status", ASCENDING)])
        self.db.candidates.create_index([("email_key", ASCENDING)], unique=True, name=CANDIDATE_EMAIL_INDEX)
        self.db.applications.create_index(
            [("candidate_id", ASCENDING), ("requisition_id", ASCENDING)], unique=True, name=APPLICATION_UNIQUE_INDEX
        )
        self.db.applications.create_index([("requisition_id", ASCENDING), ("status", ASCENDING)])

    # -- requisitions --------------------------------------------------------------------------------
    def insert_requisition(self, doc: dict, session) -> None:
        self.db.requisitions.insert_one(doc, session=session)

    def get_requisition(self, requisition_id: str, session=None) -> dict | None:
        return self.db.requisitions.find_one({"_id": requisition_id}, session=session)

    def close_requisition(self, requisition_id: str, reason: str, at: datetime, session) -> dict | None:
        """Close an open requisition; None when it is not open (closed meanwhile, or unknown)."""
        return update_and_get(self.db.requisitions, {"_id": requisition_id, "status": "open"},
                              {"$set": {"status": "closed", "closed_at": at, "close_reason": reason}},
                              session=session)

    def list_requisitions(self, divisions: list[str] | None, status: str | None, urgent: bool | None,
                          limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        query: dict = {}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        if status is not None:
            query["status"] = status
        if urgent is not None:
            query["urgent"] = urgent
        return self.page(self.db.requisitions, query, limit, cursor)

    # -- candidates ----------------------------------------------------------------------------------
    def upsert_candidate(self, profile: dict, at: datetime, session) -> dict:
        """The candidate with this profile's `email_key`, created if new, its profile set to `profile`.

        Looked up by the indexed key, then updated by `_id` (an upsert keyed on email_key scans the
        collection on some servers). Two first applications racing both insert: the unique index
        rejects one, and the caller retries it as an existing candidate."""
        existing = self.db.candidates.find_one({"email_key": profile["email_key"]}, {"_id": 1}, session=session)
        if existing is not None:
            return update_and_get(self.db.candidates, {"_id": existing["_id"]},
                                  {"$set": {**profile, "updated_at": at}}, session=session)
        doc = {"_id": new_id("cand"), **profile, "created_at": at, "updated_at": at}
        self.db.candidates.insert_one(doc, session=session)
        return doc

    def get_candidate(self, candidate_id: str, session=None) -> dict | None:
        return self.db.candidates.find_one({"_id": candidate_id}, session=session)

    def find_candidate_by_email_key(self, email_key: str, session=None) -> dict | None:
        return self.db.candidates.find_one({"email_key": email_key}, session=session)

    # -- applications --------------------------------------------------------------------------------
    def insert_application(self, doc: dict, session) -> None:
        self.db.applications.insert_one(doc, session=session)

    def get_application(self, application_id: str, session=None) -> dict | None:
        return self.db.applications.find_one({"_id": application_id}, session=session)

    def find_application(self, candidate_id: str, requisition_id: str, session=None) -> dict | None:
        return self.db.applications.find_one(
            {"candidate_id": candidate_id, "requisition_id": requisition_id}, session=session
        )

    def save_application(self, app: dict, session) -> None:
        self.db.applications.replace_one({"_id": app["_id"]}, app, session=session)

    def list_applications(self, requisition_id: str, status: str | None, limit: int,
                          cursor: str | None) -> tuple[list[dict], str | None]:
        query: dict = {"requisition_id": requisition_id}
        if status is not None:
            query["status"] = status
        return self.page(self.db.applications, query, limit, cursor)

    def candidate_applications(self, candidate_id: str, divisions: list[str] | None = None,
                               session=None) -> list[dict]:
        query: dict = {"candidate_id": candidate_id}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        projection = {"_id": 1, "division": 1, "talent_pool_consent": 1}
        return list(self.db.applications.find(query, projection, session=session).sort("_id", ASCENDING))
