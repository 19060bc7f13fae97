"""Screening's own database: one result per application (written in one document write with the events it
causes, shared/storage.py write_document), and its copy of application statuses (shared/status_projection.py:
what an override checks).

An application that came with a CV has its document before its result: `waiting` (what screening needs of
the application, since when) and/or `cv_reads` (readings that came first), until both are there or the wait
runs out; then the same document becomes the result and those fields go."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING

from shared.status_projection import StatusProjection
from shared.storage import ServiceStore


class ScreeningStore(StatusProjection, ServiceStore):
    owner = "screening"
    # A result carries the events its write caused until they are relayed (ServiceStore.write_document).
    documents_with_outbox = ("results",)

    def create_indexes(self) -> None:
        self.db.results.create_index([("division", ASCENDING)])
        # Only applications waiting for their CV's reading are in it (the backstop's look-up).
        self.db.results.create_index([("waiting.since", ASCENDING)], sparse=True, name="waiting_since")

    def get(self, application_id: str, session=None) -> dict | None:
        return self.db.results.find_one({"_id": application_id}, session=session)

    def results_for(self, application_ids: list[str], session=None) -> list[dict]:
        return list(self.db.results.find({"_id": {"$in": application_ids}, "result": {"$exists": True}},
                                         session=session).sort("_id", ASCENDING))

    def waiting_since(self, before: datetime, limit: int = 100) -> list[str]:
        """Applications that have waited for their CV's reading since `before` or longer (oldest first)."""
        return [d["_id"] for d in self.db.results.find({"waiting.since": {"$lte": before}}, {"_id": 1})
                .sort("waiting.since", ASCENDING).limit(limit)]

    def anonymise(self, application_ids: list[str], session) -> int:
        """Keep pass/fail, score and match (report figures); drop the reasons, which describe the person, and
        what an application still waiting for its CV's reading kept of it."""
        # `_rev` moves on, so a document write that read the result before (an override) reads it again.
        changed = self.db.results.update_many(
            {"_id": {"$in": application_ids}, "result": {"$exists": True}},
            {"$set": {"result.reasons": [], "result.matched_skills": [], "result.missing_skills": [],
                      "result.skills_from_cv": [], "erased": True}, "$inc": {"_rev": 1}},
            session=session).modified_count
        changed += self.db.results.update_many(
            {"_id": {"$in": application_ids}, "result": {"$exists": False}},
            {"$unset": {"waiting": "", "cv_reads": ""}, "$set": {"erased": True}, "$inc": {"_rev": 1}},
            session=session).modified_count
        self.db.results.update_many({"_id": {"$in": application_ids}, "result.override": {"$ne": None}},
                                    {"$set": {"result.override.reason": None}}, session=session)
        return changed
