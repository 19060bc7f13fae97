"""Screening's own database: one result per application."""

from __future__ import annotations

from pymongo import ASCENDING

from shared.storage import ServiceStore


class ScreeningStore(ServiceStore):
    owner = "screening"

    def create_indexes(self) -> None:
        self.db.results.create_index([("division", ASCENDING)])

    def get(self, application_id: str, session=None) -> dict | None:
        return self.db.results.find_one({"_id": application_id}, session=session)

    def save(self, doc: dict, session) -> None:
        self.db.results.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)
