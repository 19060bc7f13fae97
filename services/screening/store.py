"""Screening's own database: one result per application (written in one document write with the events it
causes, shared/storage.py write_document), and its copy of application statuses (shared/status_projection.py:
what an override checks)."""

from __future__ import annotations

from pymongo import ASCENDING

from shared.status_projection import StatusProjection
from shared.storage import ServiceStore


class ScreeningStore(StatusProjection, ServiceStore):
    owner = "screening"
    # A result carries the events its write caused until they are relayed (ServiceStore.write_document).
    documents_with_outbox = ("results",)

    def create_indexes(self) -> None:
        self.db.results.create_index([("division", ASCENDING)])

    def get(self, application_id: str, session=None) -> dict | None:
        return self.db.results.find_one({"_id": application_id}, session=session)

    def results_for(self, application_ids: list[str], session=None) -> list[dict]:
        return list(self.db.results.find({"_id": {"$in": application_ids}}, session=session).sort("_id", ASCENDING))

    def anonymise(self, application_ids: list[str], session) -> int:
        """Keep pass/fail, score and match (report figures); drop the reasons, which describe the person."""
        # `_rev` moves on, so a document write that read the result before (an override) reads it again.
        changed = self.db.results.update_many(
            {"_id": {"$in": application_ids}},
            {"$set": {"result.reasons": [], "result.matched_skills": [], "result.missing_skills": [],
                      "erased": True}, "$inc": {"_rev": 1}},
            session=session).modified_count
        self.db.results.update_many({"_id": {"$in": application_ids}, "result.override": {"$ne": None}},
                                    {"$set": {"result.override.reason": None}}, session=session)
        return changed
