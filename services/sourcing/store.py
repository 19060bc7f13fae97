"""Sourcing's own database: requisitions, candidates (one per normalised email: the identity), their
profiles (one per candidate and division: what that division was told, docs/decisions/002),
applications (one per candidate and requisition) and their files: the bytes in GridFS (bucket `fs`, sealed,
named by the document's id only), what is known of each in `documents` (file name sealed, extracted text
sealed, the skills and years read from it)."""

from __future__ import annotations

import re
from datetime import datetime

import gridfs
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.sourcing import domain
from shared.errors import Invalid
from shared.ids import new_id
from shared.storage import (
    ServiceStore,
    StillContended,
    decode_cursor,
    decode_sort_cursor,
    encode_cursor,
    encode_sort_cursor,
    match,
    page_limit,
    update_and_get,
)
from shared.timeutil import utcnow

CANDIDATE_EMAIL_INDEX = "candidate_email_key_unique"
APPLICATION_UNIQUE_INDEX = "application_candidate_requisition_unique"


def _after_match(cursor: str) -> dict:
    """What comes after a card of the match order (match descending, then id descending; no match last)."""
    match_text, _, last_id = cursor.partition("|")
    if not last_id:
        raise Invalid("cursor: not a cursor returned by this API", field="cursor")
    if match_text == "":  # among the not yet screened: only older ones
        return {"screening.match": None, "_id": {"$lt": last_id}}
    try:
        value = float(match_text)
    except ValueError:
        raise Invalid("cursor: not a cursor returned by this API", field="cursor") from None
    return {"$or": [{"screening.match": {"$lt": value}}, {"screening.match": value, "_id": {"$lt": last_id}},
                    {"screening.match": None}]}


class SourcingStore(ServiceStore):
    owner = "sourcing"
    # An application holds its own state, the ids of the events it handled and the events it caused
    # (ServiceStore.write_document): submit and every status change are one write of one document.
    # A file's metadata document carries its `document_read` the same way (its reading is one write).
    documents_with_outbox = ("applications", "documents")

    def create_indexes(self) -> None:
        self.db.requisitions.create_index([("division", ASCENDING), ("status", ASCENDING)])
        # The careers site's reads (published jobs, paged by id, of a division or all) and the posting sweep.
        self.db.requisitions.create_index([("published", ASCENDING), ("_id", ASCENDING)])
        self.db.requisitions.create_index([("published", ASCENDING), ("division", ASCENDING), ("_id", ASCENDING)])
        self.db.requisitions.create_index([("published", ASCENDING), ("public_until", ASCENDING)])
        self.db.candidates.create_index([("email_key", ASCENDING)], unique=True, name=CANDIDATE_EMAIL_INDEX)
        self.db.candidate_profiles.create_index([("candidate_id", ASCENDING)])
        # Search (issue 20, docs/decisions/008): a name's beginning (an anchored, escaped prefix of the folded
        # name), a skill, a phone number's blind index; an email goes through candidates.email_key.
        self.db.candidate_profiles.create_index([("name_key", ASCENDING), ("division", ASCENDING)])
        self.db.candidate_profiles.create_index([("skill_keys", ASCENDING), ("division", ASCENDING)])
        self.db.candidate_profiles.create_index([("phone_key", ASCENDING)], sparse=True)
        # The applications list across requisitions, newest (or oldest) first, by creation or last change.
        self.db.applications.create_index([("division", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)])
        self.db.applications.create_index([("division", ASCENDING), ("updated_at", ASCENDING), ("_id", ASCENDING)])
        self.db.applications.create_index(
            [("candidate_id", ASCENDING), ("requisition_id", ASCENDING)], unique=True, name=APPLICATION_UNIQUE_INDEX
        )
        self.db.applications.create_index([("requisition_id", ASCENDING), ("status", ASCENDING)])
        self.db.documents.create_index([("application_id", ASCENDING)])
        self.db.documents.create_index([("candidate_id", ASCENDING)])
        # Notes (issue 20): an application's, a mentioned user's inbox (newest first), a candidate's (erasure).
        self.db.notes.create_index([("application_id", ASCENDING), ("_id", ASCENDING)])
        self.db.notes.create_index([("mentions", ASCENDING), ("_id", ASCENDING)])
        self.db.notes.create_index([("candidate_id", ASCENDING)])

    # -- requisitions --------------------------------------------------------------------------------
    def insert_requisition(self, doc: dict, session) -> None:
        self.db.requisitions.insert_one(doc, session=session)

    def get_requisition(self, requisition_id: str, session=None) -> dict | None:
        return self.db.requisitions.find_one({"_id": requisition_id}, session=session)

    def close_requisition(self, requisition_id: str, reason: str, at: datetime, session,
                          entries: list[dict] | None = None) -> dict | None:
        """Close an open requisition (and take it off the careers site), its history `entries` added; None when
        it is not open (closed meanwhile, or unknown)."""
        update: dict = {"$set": {"status": "closed", "closed_at": at, "close_reason": reason, "published": False,
                                 "updated_at": at}}
        if entries:
            update["$push"] = {"history": {"$each": list(entries)}}
        return update_and_get(self.db.requisitions, {"_id": requisition_id, "status": "open"}, update,
                              session=session)

    def replace_requisition(self, doc: dict, session) -> None:
        self.db.requisitions.replace_one({"_id": doc["_id"]}, doc, session=session)

    def expired_postings(self, now: datetime, limit: int) -> list[str]:
        """Published requisitions whose `closes_at` has passed (the posting sweep)."""
        docs = self.db.requisitions.find({"published": True, "public_until": {"$lte": now}}, {"_id": 1}).limit(limit)
        return [d["_id"] for d in docs]

    def unpublish_expired(self, requisition_id: str, now: datetime, entry: dict) -> bool:
        """Unpublish one, if it is still published and past `closes_at` (an edit meanwhile may have moved it)."""
        result = self.db.requisitions.update_one(
            {"_id": requisition_id, "published": True, "public_until": {"$lte": now}},
            {"$set": {"published": False, "updated_at": now}, "$push": {"history": entry}})
        return result.modified_count == 1

    # -- the careers site's reads --------------------------------------------------------------------------
    @staticmethod
    def _public(now: datetime) -> dict:
        # `published` is true only while open (closing unpublishes); the status is checked all the same.
        return {"published": True, "status": "open", "public_until": {"$gt": now}}

    def public_jobs(self, now: datetime, division: str | None, text: str | None, location: str | None, limit: int,
                    cursor: str | None) -> tuple[list[dict], str | None]:
        """Published jobs, oldest first; `text` and `location` (lower-cased) are literal substrings of the
        stored lower-case search text and location (escaped: a `.` or `(` typed is a character, not a pattern)."""
        query = self._public(now)
        if division is not None:
            query["division"] = division
        if text:
            query["search_text"] = {"$regex": re.escape(text)}
        if location:
            query["location_key"] = {"$regex": re.escape(location)}
        return self.page(self.db.requisitions, query, limit, cursor)

    def public_divisions(self, now: datetime) -> list[str]:
        return list(self.db.requisitions.distinct("division", self._public(now)))

    def requisition_divisions(self) -> list[str]:
        return list(self.db.requisitions.distinct("division"))

    # -- divisions as records ------------------------------------------------------------------------------
    def get_division(self, division_id: str, session=None) -> dict | None:
        return self.db.divisions.find_one({"_id": division_id}, session=session)

    def divisions(self, ids: list[str] | None) -> list[dict]:
        """Division records: of `ids` (None: all)."""
        query = {} if ids is None else {"_id": {"$in": list(ids)}}
        return list(self.db.divisions.find(query).sort("_id", ASCENDING))

    def insert_division(self, doc: dict) -> None:
        self.db.divisions.insert_one(doc)

    def save_division(self, doc: dict, session=None) -> None:
        self.db.divisions.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)

    def register_divisions(self, division_ids, at: datetime) -> list[str]:
        """A record with the defaults for each of `division_ids` that has none (a record already there is left as
        it is); the ids registered now. Idempotent, so every replica may run it at start."""
        registered = []
        for division_id in division_ids:
            doc = domain.new_division({"id": division_id, "timezone": domain.DEFAULT_TIMEZONE}, at)
            try:
                result = self.db.divisions.update_one({"_id": division_id}, {"$setOnInsert": doc}, upsert=True)
            except DuplicateKeyError:  # another replica's upsert won the race: it is there
                continue
            if result.upserted_id is not None:
                registered.append(division_id)
        return registered

    def bootstrap(self, settings) -> None:
        """At start: the divisions HIRELOOP_DIVISIONS names, and every division requisitions were opened in
        before divisions had to be registered (a deployment from before issue 20 keeps working)."""
        in_use = set(self.requisition_divisions()) - {d["_id"] for d in self.db.divisions.find({}, {"_id": 1})}
        self.register_divisions([*settings.divisions, *sorted(in_use)], utcnow().replace(microsecond=0))
        self.backfill_search_keys()

    def list_requisitions(self, divisions: list[str] | None, status: str | None, urgent: bool | None,
                          limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return self.page(self.db.requisitions, match(divisions, status=status, urgent=urgent), limit, cursor)

    # -- candidates ----------------------------------------------------------------------------------
    def candidate_for(self, email_key: str, at: datetime, retries: int = 3) -> tuple[dict, bool]:
        """The candidate (the identity) with this `email_key`, and whether this call created it. Most
        applications come from people new to the group (a campus drive, a store opening), so the insert goes
        first: one command for a new candidate; for a known one the unique index refuses it and one indexed
        read finds them (nothing written: the identity does not change). Two first applications racing both
        insert: the index refuses one, which reads and finds the other's."""
        for _attempt in range(retries):
            doc = {"_id": new_id("cand"), "email_key": email_key, "created_at": at, "updated_at": at}
            try:
                self.db.candidates.insert_one(doc)
                return doc, True
            except DuplicateKeyError:
                known = self.db.candidates.find_one({"email_key": email_key})
                if known is not None:
                    return known, False
        raise StillContended(f"candidate {email_key}: created and gone {retries} times")

    # -- profiles: one per candidate and division ----------------------------------------------------------
    def get_profile(self, candidate_id: str, division: str, session=None) -> dict | None:
        return self.db.candidate_profiles.find_one({"_id": domain.profile_id(candidate_id, division)},
                                                   session=session)

    def save_profile(self, cand: dict, division: str, update: dict, at: datetime, session=None, *,
                     new_candidate: bool = False) -> dict:
        """The division's profile of `cand` after an application's `update` (domain.division_profile), written
        as one idempotent upsert of the fields the application gives (what another application of the same
        division wrote meanwhile to the other fields stays). A candidate this application created has no
        profile yet: nothing to read."""
        stored = None if new_candidate else self.get_profile(cand["_id"], division, session=session)
        legacy = domain.legacy_profile(cand)
        profile = domain.division_profile(cand["_id"], division, stored, legacy, update, at)
        first = {f: v for f, v in profile.items() if f in domain.PROFILE_FIELDS and f not in update}
        self.db.candidate_profiles.update_one(
            {"_id": profile["_id"]},
            {"$set": {"candidate_id": cand["_id"], "division": division, **update, "updated_at": at},
             "$setOnInsert": {**first, "created_at": profile["created_at"]}},
            upsert=True, session=session)
        return profile

    def profiles_of(self, candidate_id: str, divisions: list[str] | None = None, session=None) -> list[dict]:
        """The candidate's profiles, in `divisions` (None: every division), oldest division first."""
        query: dict = {"candidate_id": candidate_id}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        return list(self.db.candidate_profiles.find(query, session=session).sort("created_at", ASCENDING))

    # -- search (issue 20) -----------------------------------------------------------------------------------
    def search_profiles(self, divisions: list[str] | None, kind: str, terms, limit: int,
                        cursor: str | None) -> tuple[list[dict], str | None]:
        """Profiles in `divisions` (None: all) that `domain.search_terms` found: an email's candidate, a phone
        number's blind index, or a name's beginning or a skill; paged by profile id."""
        if kind == "email":
            cand = self.db.candidates.find_one({"email_key": terms}, {"_id": 1})
            if cand is None:
                return [], None
            query: dict = {"candidate_id": cand["_id"]}
        elif kind == "phone":
            query = {"phone_key": terms}
        else:
            prefix, skill = terms
            # Anchored and escaped: a literal prefix the name_key index serves; never a pattern typed by a user.
            query = {"$or": [{"name_key": {"$regex": "^" + re.escape(prefix)}}, {"skill_keys": skill}]}
        if divisions is not None:
            query = {"$and": [query, {"division": {"$in": list(divisions)}}]}
        return self.page(self.db.candidate_profiles, query, limit, cursor)

    def searched_candidate_ids(self, divisions: list[str] | None, kind: str, terms, cap: int) -> list[str]:
        """The candidates (at most `cap`) a search term finds in `divisions`: the applications list's `q`."""
        found, cursor = [], None
        while len(found) < cap:
            docs, cursor = self.search_profiles(divisions, kind, terms, min(500, cap - len(found)), cursor)
            found += [d["candidate_id"] for d in docs]
            if not cursor:
                break
        return list(dict.fromkeys(found))

    def search_applications(self, divisions: list[str] | None, candidate_ids: list[str] | None, status: str | None,
                            requisition_id: str | None, source: str | None, sort: str, limit: int,
                            cursor: str | None) -> tuple[list[dict], str | None]:
        """Applications by the given conditions, sorted by `sort` (`created_at`, `-updated_at`, ...) and then id;
        the cursor is the last one's sort value and id."""
        field, descending = sort.lstrip("-"), sort.startswith("-")
        query = match(divisions, status=status, requisition_id=requisition_id, source=source)
        if candidate_ids is not None:
            query["candidate_id"] = {"$in": candidate_ids}
        after = decode_sort_cursor(cursor)
        if after is not None:
            value, last_id = after
            beyond = "$lt" if descending else "$gt"
            query = {"$and": [query, {"$or": [{field: {beyond: value}}, {field: value, "_id": {beyond: last_id}}]}]}
        direction = DESCENDING if descending else ASCENDING
        limit = page_limit(limit)
        docs = list(self.db.applications.find(query).sort([(field, direction), ("_id", direction)]).limit(limit + 1))
        next_cursor = encode_sort_cursor(docs[limit - 1][field], docs[limit - 1]["_id"]) if len(docs) > limit else None
        return docs[:limit], next_cursor

    def backfill_search_keys(self, batch: int = 500) -> int:
        """Profiles written before search (no `name_key`) get theirs from the name (names are not sealed);
        idempotent, at start. Their phone's blind index comes with their division's next application."""
        done = 0
        while True:
            docs = list(self.db.candidate_profiles.find({"name_key": {"$exists": False}}, {"name": 1}).limit(batch))
            for doc in docs:
                self.db.candidate_profiles.update_one({"_id": doc["_id"]}, {"$set": {
                    "name_key": domain.name_key(doc.get("name") or "")}})
            done += len(docs)
            if len(docs) < batch:
                return done

    def get_candidate(self, candidate_id: str, session=None) -> dict | None:
        return self.db.candidates.find_one({"_id": candidate_id}, session=session)

    # -- notes (issue 20) ----------------------------------------------------------------------------
    def insert_note(self, doc: dict, session=None) -> None:
        self.db.notes.insert_one(doc, session=session)

    def notes_of(self, application_id: str) -> list[dict]:
        return list(self.db.notes.find({"application_id": application_id}).sort("_id", ASCENDING))

    def notes_of_candidate(self, candidate_id: str) -> list[dict]:
        return list(self.db.notes.find({"candidate_id": candidate_id}).sort("_id", ASCENDING))

    def notes_mentioning(self, user_id: str, divisions: list[str] | None, limit: int,
                         cursor: str | None) -> tuple[list[dict], str | None]:
        """Newest first (ids grow with time), in `divisions` (None: every one)."""
        query: dict = {"mentions": user_id}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        before = decode_cursor(cursor)
        if before:
            query["_id"] = {"$lt": before}
        docs = list(self.db.notes.find(query).sort("_id", DESCENDING).limit(limit + 1))
        next_cursor = encode_cursor(docs[limit - 1]["_id"]) if len(docs) > limit else None
        return docs[:limit], next_cursor

    # -- applications --------------------------------------------------------------------------------
    def get_application(self, application_id: str, session=None) -> dict | None:
        return self.db.applications.find_one({"_id": application_id}, session=session)

    def find_application(self, candidate_id: str, requisition_id: str, session=None) -> dict | None:
        return self.db.applications.find_one(
            {"candidate_id": candidate_id, "requisition_id": requisition_id}, session=session
        )

    @staticmethod
    def _board_query(requisition_id: str, source: str | None = None, passed: bool | None = None,
                     tag: str | None = None) -> dict:
        """A requisition's applications, filtered as the board is (issue 20): the source exactly, the screening
        verdict (an application not screened yet has none and matches neither), a tag (stored normalised)."""
        query: dict = {"requisition_id": requisition_id}
        if source is not None:
            query["source"] = source
        if passed is not None:
            query["screening.passed"] = passed
        if tag is not None:
            query["tags"] = tag
        return query

    def list_applications(self, requisition_id: str, status: str | list[str] | None, limit: int,
                          cursor: str | None, *, source: str | None = None, passed: bool | None = None,
                          tag: str | None = None, sort: str = "oldest") -> tuple[list[dict], str | None]:
        """A page of a requisition's applications: of one status or several, filtered, oldest (creation, as ids
        are time-ordered), newest or best screening match first; the cursor holds the last card's sort key."""
        query = self._board_query(requisition_id, source, passed, tag)
        if isinstance(status, list):
            query["status"] = {"$in": status}
        elif status is not None:
            query["status"] = status
        if sort == "oldest":
            return self.page(self.db.applications, query, limit, cursor)
        limit = page_limit(limit)
        after = decode_cursor(cursor)
        if sort == "newest":
            order = [("_id", DESCENDING)]
            if after:
                query = {"$and": [query, {"_id": {"$lt": after}}]}
        else:  # match, high to low; not yet screened (no match) last; ties newest first
            order = [("screening.match", DESCENDING), ("_id", DESCENDING)]
            if after:
                query = {"$and": [query, _after_match(after)]}
        docs = list(self.db.applications.find(query).sort(order).limit(limit + 1))
        if len(docs) <= limit:
            return docs, None
        last = docs[limit - 1]
        if sort == "newest":
            return docs[:limit], encode_cursor(last["_id"])
        match_of = (last.get("screening") or {}).get("match")
        return docs[:limit], encode_cursor(f"{'' if match_of is None else match_of}|{last['_id']}")

    def pipeline_counts(self, requisition_id: str, source: str | None, passed: bool | None,
                        tag: str | None) -> dict[str, int]:
        """How many of the requisition's applications (filtered) each status holds: one aggregation."""
        rows = self.db.applications.aggregate([
            {"$match": self._board_query(requisition_id, source, passed, tag)},
            {"$group": {"_id": "$status", "n": {"$sum": 1}}}])
        return {r["_id"]: r["n"] for r in rows}

    def pipeline_choices(self, requisition_id: str) -> tuple[list[str], list[str]]:
        """Every source and every tag among the requisition's applications, sorted (the filters' choices)."""
        query = {"requisition_id": requisition_id}
        sources = self.db.applications.distinct("source", query)
        tags = self.db.applications.distinct("tags", query)
        return sorted(s for s in sources if s), sorted(t for t in tags if t)

    def candidate_names(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """Names by (candidate id, division), each as that division recorded it, for views that show who
        applied (two queries for a page of applications; the legacy profile where a division has none)."""
        wanted = sorted(set(pairs))
        docs = self.db.candidate_profiles.find({"_id": {"$in": [domain.profile_id(c, d) for c, d in wanted]}},
                                               {"name": 1, "candidate_id": 1, "division": 1})
        names: dict[tuple[str, str], str | None] = {(d["candidate_id"], d["division"]): d.get("name") for d in docs}
        missing = sorted({c for c, d in wanted if (c, d) not in names})
        if missing:
            legacy = {d["_id"]: d.get("name") for d in self.db.candidates.find({"_id": {"$in": missing}}, {"name": 1})}
            names.update({(c, d): legacy.get(c) for c, d in wanted if (c, d) not in names})
        return names

    def candidate_applications(self, candidate_id: str, divisions: list[str] | None = None,
                               session=None) -> list[dict]:
        query: dict = {"candidate_id": candidate_id}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        projection = {"_id": 1, "division": 1, "talent_pool_consent": 1}
        return list(self.db.applications.find(query, projection, session=session).sort("_id", ASCENDING))

    def report_applications(self, divisions: list[str] | None, received: dict | None,
                            requisition_id: str | None = None) -> list[dict]:
        """Applications for the reports: in `divisions` (None: all), received in the `received` span (a
        MongoDB condition on created_at, None: any time), optionally of one requisition. Figures only."""
        query: dict = {}
        if divisions is not None:
            query["division"] = {"$in": divisions}
        if received:
            query["created_at"] = received
        if requisition_id is not None:
            query["requisition_id"] = requisition_id
        fields = ("requisition_id", "requisition_title", "division", "tier", "source", "status", "timeline",
                  "created_at")
        return list(self.db.applications.find(query, dict.fromkeys(fields, 1)).sort("_id", ASCENDING))

    def requisition_skills(self) -> list[str]:
        """Every skill any requisition names (required or nice-to-have): the group's part of the vocabulary
        a CV is read against (the shipped list is the rest)."""
        return [*self.db.requisitions.distinct("required_skills"), *self.db.requisitions.distinct("skills")]

    # -- files: bytes in GridFS, metadata in `documents` ---------------------------------------------------
    @property
    def files(self) -> gridfs.GridFSBucket:
        # GridFS writes no transaction (pymongo refuses one): a file goes in before the write that names it,
        # and out before the erasure's transaction (both idempotent by the document's id).
        return gridfs.GridFSBucket(self.db)

    def put_file(self, document_id: str, sealed: bytes) -> None:
        self.files.upload_from_stream_with_id(document_id, document_id, sealed)

    def read_file(self, document_id: str) -> bytes | None:
        try:
            return self.files.open_download_stream(document_id).read()
        except gridfs.errors.NoFile:
            return None

    def delete_files(self, document_ids: list[str]) -> int:
        """The files and every chunk of them (also those of an upload cut short); how many files there were."""
        deleted = 0
        for document_id in document_ids:
            try:
                self.files.delete(document_id)
                deleted += 1
            except gridfs.errors.NoFile:
                pass
        if document_ids:
            self.db["fs.chunks"].delete_many({"files_id": {"$in": list(document_ids)}})
        return deleted

    def insert_document(self, doc: dict) -> None:
        self.db.documents.insert_one(doc)

    def delete_document(self, document_id: str) -> None:
        """A file whose application was not written after all (a duplicate application): gone again."""
        self.delete_files([document_id])
        self.db.documents.delete_one({"_id": document_id})

    def get_document(self, document_id: str, session=None) -> dict | None:
        return self.db.documents.find_one({"_id": document_id}, session=session)

    def documents_of(self, application_id: str) -> list[dict]:
        return list(self.db.documents.find({"application_id": application_id}).sort("_id", ASCENDING))

    def documents_of_candidate(self, candidate_id: str, session=None) -> list[dict]:
        return list(self.db.documents.find({"candidate_id": candidate_id}, session=session).sort("_id", ASCENDING))

    # -- right to erasure and retention -----------------------------------------------------------------
    def erase_candidate_records(self, candidate_id: str, erasure_id: str, at, session) -> dict[str, int]:
        """The candidate anonymised, their applications stripped to figures (domain.anonymised_*)."""
        self.db.candidates.replace_one({"_id": candidate_id}, domain.anonymised_candidate(candidate_id, erasure_id, at),
                                       session=session)
        profiles = self.db.candidate_profiles.delete_many({"candidate_id": candidate_id}, session=session).deleted_count
        apps = self.applications_of_candidate(candidate_id, session=session)
        for app in apps:
            # A new _rev: a handler that read the application before this erasure cannot write over it (its
            # conditional write fails, it reads again and finds it erased).
            self.db.applications.replace_one({"_id": app["_id"]},
                                             {**domain.anonymised_application(app), "_rev": (app.get("_rev") or 0) + 1},
                                             session=session)
        documents = self.db.documents.delete_many({"candidate_id": candidate_id}, session=session).deleted_count
        notes = self.db.notes.delete_many({"candidate_id": candidate_id}, session=session).deleted_count
        return {"candidates": 1, "profiles": profiles, "applications": len(apps), "documents": documents,
                "notes": notes}

    def applications_of_candidate(self, candidate_id: str, session=None) -> list[dict]:
        """Every application of the candidate, whole, in every division (erasure, export, retention)."""
        return list(self.db.applications.find({"candidate_id": candidate_id}, session=session).sort("_id", ASCENDING))

    def erased_application_hint(self, application_ids: list[str], session=None) -> bool:
        """Sourcing knows which applications were erased (also those erased before tombstones named them)."""
        return self.db.applications.find_one({"_id": {"$in": application_ids}, "erased": True}, {"_id": 1},
                                             session=session) is not None

    def insert_erasure(self, doc: dict, session) -> None:
        self.db.erasures.insert_one(doc, session=session)

    def get_erasure(self, erasure_id: str, session=None) -> dict | None:
        return self.db.erasures.find_one({"_id": erasure_id}, session=session)

    def save_erasure(self, doc: dict, session) -> None:
        self.db.erasures.replace_one({"_id": doc["_id"]}, doc, session=session)

    def get_retention_policy(self, division: str, session=None) -> dict | None:
        return self.db.retention_policies.find_one({"_id": division}, session=session)

    def retention_policies(self) -> list[dict]:
        return list(self.db.retention_policies.find())

    def put_retention_policy(self, division: str, policy: dict, session=None) -> None:
        self.db.retention_policies.replace_one({"_id": division}, {"_id": division, **policy}, upsert=True,
                                               session=session)

    def ended_candidates(self, divisions: list[str] | None, excluded: list[str], ended_before, limit: int) -> list[str]:
        """Candidates with an application in `divisions` (None: any division but `excluded`) that ended without
        a hire before `ended_before`; the retention sweep then checks all their applications."""
        query: dict = {"status": {"$in": sorted(domain.ENDED_WITHOUT_HIRE)}, "updated_at": {"$lte": ended_before},
                       "erased": {"$ne": True}}
        query["division"] = {"$in": divisions} if divisions is not None else {"$nin": excluded}
        seen: dict[str, None] = {}
        for doc in self.db.applications.find(query, {"candidate_id": 1}).limit(limit * 5):
            seen.setdefault(doc["candidate_id"])
            if len(seen) >= limit:
                break
        return list(seen)
