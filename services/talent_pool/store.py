"""The talent pool's own database.

- `requisitions`: projection of sourcing's requisitions (id, title, division, tier, urgent, skills, status).
- `applications`: projection of sourcing's applications (candidate, requisition, consent, status, decision,
  interview summary), to know who applies where and who passed. One document per application, written with
  one conditional write per event (ServiceStore.write_document: `_rev`, `inbox`), created by whichever of its
  events comes first (domain.apply_received / apply_status_change); `pool_due` while a pooling step is owed;
  `erased` once the candidate was erased (later events then leave it alone).
- `candidates`: whether the candidate was hired, consent withdrawn, erased (one per person, created by the
  first of those); candidates stored before profiles per division also hold the legacy name and skills.
- `profiles`: name and skills per (candidate, division) (`_id` "<candidate>|<division>", that division's
  latest application wins): a pool entry shows the profile of the division that pooled the person
  (docs/decisions/002-candidates-per-division.md).
- `pool`: one entry per pooled candidate (`_id` = candidate id).
- `matches`: the stored matches of a requisition (`_id` = requisition id), computed off the request path
  (when it opens, when a pool change can alter it, when due) and only read by GET
  (docs/decisions/005-stored-match-lists.md): `items` (the api-v1 answer), `surfaced` (everyone ever on
  it), `open`, `skills_norm` and `floor` (what a pool change is checked against), `refresh_at`.
- `reengagements`: one per (requisition, candidate).
- `poolings`: one per time a candidate entered the pool (ids, division, reason, time; no personal data),
  kept when the entry leaves the pool, so the report counts who was pooled in a period.
- `pool_changes`: the candidate of every write to `pool`, written in the same transaction, so each
  replica's in-memory match index (pool_index.py) catches up with changes any replica made.
- `community`: talent-community sign-ups (`_id` = the member's id, `mem_...`, also their pool entry's
  candidate id): status pending | member | left, the email sealed with its keyed `email_lookup` (one sign-up
  per address), name, skills, divisions, locale, the request waiting for its confirmation, and the sourcing
  candidates a re-engagement made of them (`candidate_ids`, so their erasure covers the sign-up). Leaving
  keeps only the id, the status and the times.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.talent_pool import domain
from services.talent_pool.pool_index import PoolIndex
from shared.erasure import ERASED
from shared.ids import new_id
from shared.storage import ServiceStore, update_and_get
from shared.timeutil import utcnow

# Changes are re-read this far back: a transaction that wrote its change record earlier may commit later.
CHANGES_LOOKBACK = timedelta(seconds=120)
CHANGES_RETENTION = timedelta(days=1)
# New applications are re-read this far back: a projection write may land after a later one's.
APPLICATIONS_LOOKBACK = timedelta(seconds=10)
# Requisition ids this process knows are stored, so their applications skip the write (requisitions are
# never deleted); forgotten all at once past this many.
KNOWN_REQUISITIONS_MAX = 100_000
# What the match index keeps of a pool entry.
INDEXED_FIELDS = {"candidate_id": 1, "skills": 1, "retain_until": 1, "prior.average": 1, "prior.decided_at": 1,
                  "reason": 1, "divisions": 1}
log = logging.getLogger("hireloop.talent_pool")


class TalentPoolStore(ServiceStore):
    owner = "talent_pool"

    def create_indexes(self) -> None:
        self.db.applications.create_index([("requisition_id", ASCENDING)])
        self.db.applications.create_index([("candidate_id", ASCENDING)])
        self.db.applications.create_index([("reengagement_id", ASCENDING)])
        self.db.pool.create_index([("skills_norm", ASCENDING)])
        self.db.pool.create_index([("prior.division", ASCENDING)])
        self.db.pool.create_index([("divisions", ASCENDING)])  # community members' divisions of interest
        self.db.pool.create_index([("retain_until", ASCENDING)])
        self.db.poolings.create_index([("division", ASCENDING), ("pooled_at", ASCENDING)])
        self.db.poolings.create_index([("candidate_id", ASCENDING)])
        self.db.pool_changes.create_index([("at", ASCENDING)])
        # Stored match lists: the timer's due ones, the open ones a pool change is checked against, and the
        # lists naming a candidate (hire, consent withdrawal, erasure take them off at once).
        self.db.matches.create_index([("refresh_at", ASCENDING)])
        self.db.matches.create_index([("open", ASCENDING)])
        self.db.matches.create_index([("items.candidate_id", ASCENDING)])
        self.db.applications.create_index([("seen_at", ASCENDING)])  # new applicants, for the refresh
        self.db.requisitions.create_index([("unlisted", ASCENDING)])  # learned from a snapshot, no list yet
        self.db.profiles.create_index([("candidate_id", ASCENDING)])
        self.db.community.create_index([("email_lookup", ASCENDING)], unique=True, name="one_signup_per_email",
                                       partialFilterExpression={"email_lookup": {"$type": "string"}})
        self.db.community.create_index([("candidate_ids", ASCENDING)])
        self.db.community.create_index([("status", ASCENDING), ("request.requested_at", ASCENDING)],
                                       name="unconfirmed_by_age")
        self.db.reengagements.create_index(
            [("requisition_id", ASCENDING), ("candidate_id", ASCENDING)], unique=True,
            name="one_reengagement_per_requisition_candidate",
        )

    # -- requisitions -------------------------------------------------------------------------------
    def get_requisition(self, requisition_id: str, session=None) -> dict | None:
        return self.db.requisitions.find_one({"_id": requisition_id}, session=session)

    def save_requisition(self, doc: dict, session) -> None:
        self.db.requisitions.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)

    def learn_requisition(self, doc: dict) -> None:
        """Stores a requisition snapshot unless one is there (`requisition_opened`, or a close's stub, keeps its
        own): one idempotent command, and none for an id this process already knows is stored."""
        known: set[str] = self.__dict__.setdefault("_known_requisitions", set())
        if doc["_id"] in known:
            return
        self.db.requisitions.update_one({"_id": doc["_id"]},
                                        {"$setOnInsert": {k: v for k, v in doc.items() if k != "_id"}}, upsert=True)
        if len(known) >= KNOWN_REQUISITIONS_MAX:
            known.clear()
        known.add(doc["_id"])

    def close_requisition(self, requisition_id: str, division: str, closed_at: datetime, session) -> dict:
        """Marks it closed; a close that overtook the opening leaves a stub the opening fills in."""
        return update_and_get(
            self.db.requisitions, {"_id": requisition_id},
            {"$set": {"status": "closed", "closed_at": closed_at}, "$setOnInsert": {"division": division}},
            upsert=True, session=session,
        )

    # -- applications --------------------------------------------------------------------------------
    def get_application(self, application_id: str, session=None) -> dict | None:
        return self.db.applications.find_one({"_id": application_id}, session=session)

    def save_application(self, doc: dict, session) -> None:
        self.db.applications.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)

    def applications_of_requisition(self, requisition_id: str, status: str | None = None, session=None) -> list[dict]:
        query: dict = {"requisition_id": requisition_id}
        if status is not None:
            query["status"] = status
        return list(self.db.applications.find(query, session=session).sort("_id", ASCENDING))

    def applying_candidate_ids(self, requisition_id: str, session=None) -> set[str]:
        """Everyone with an application to this requisition, whatever its status."""
        docs = self.db.applications.find({"requisition_id": requisition_id}, {"candidate_id": 1}, session=session)
        return {d["candidate_id"] for d in docs}

    def application_for_reengagement(self, reengagement_id: str, session=None) -> dict | None:
        return self.db.applications.find_one({"reengagement_id": reengagement_id}, session=session)

    def settle_pooling(self, application_id: str, session) -> None:
        """The pooling step of an application is done (`pool_due` off; `_rev` moves, so a write of the
        projection that read it before retries on this)."""
        self.db.applications.update_one({"_id": application_id}, {"$unset": {"pool_due": ""}, "$inc": {"_rev": 1}},
                                        session=session)

    def erased_application_hint(self, application_ids: list[str], session=None) -> bool:
        """An application whose candidate was erased (tombstones from before they named applications)."""
        docs = self.db.applications.find({"_id": {"$in": application_ids}}, {"candidate_id": 1}, session=session)
        candidates = [d["candidate_id"] for d in docs if d.get("candidate_id")]
        return bool(candidates) and self.db.erased.find_one({"_id": {"$in": candidates}}, {"_id": 1},
                                                            session=session) is not None

    # -- candidates ----------------------------------------------------------------------------------
    def get_candidate(self, candidate_id: str, session=None) -> dict | None:
        return self.db.candidates.find_one({"_id": candidate_id}, session=session)

    def get_profile(self, candidate_id: str, division: str, session=None) -> dict | None:
        return self.db.profiles.find_one({"_id": domain.profile_id(candidate_id, division)}, session=session)

    def save_profile(self, candidate_id: str, division: str, name: str, skills: list[str], seen_at: datetime,
                     session=None) -> str | None:
        """That division's latest application wins: a profile older than the division's stored one changes
        nothing. One idempotent command. "created", "updated", or None when a newer profile is stored."""
        try:
            result = self.db.profiles.update_one(
                {"_id": domain.profile_id(candidate_id, division), "profile_at": {"$not": {"$gt": seen_at}}},
                {"$set": {"candidate_id": candidate_id, "division": division, "name": name, "skills": skills,
                          "profile_at": seen_at}},
                upsert=True, session=session)
        except DuplicateKeyError:
            return None  # the filter missed a stored profile (a newer one), so the upsert collided with it
        return "created" if result.upserted_id is not None else "updated"

    def profiles_of(self, candidate_id: str, session=None) -> list[dict]:
        return list(self.db.profiles.find({"candidate_id": candidate_id}, session=session).sort("_id", ASCENDING))

    def mark_hired(self, candidate_id: str, application_id: str, at: datetime, session=None) -> None:
        self.db.candidates.update_one(
            {"_id": candidate_id},
            {"$set": {"candidate_id": candidate_id, "hired": True, "hired_at": at,
                      "hired_application_id": application_id}},
            upsert=True, session=session,
        )

    def touch_candidate(self, candidate_id: str, pooled_at: datetime, session) -> None:
        """Records the pooling on the candidate, so a concurrent hire of the same person write-conflicts."""
        self.db.candidates.update_one({"_id": candidate_id},
                                      {"$set": {"pooled_at": pooled_at},
                                       "$setOnInsert": {"candidate_id": candidate_id, "hired": False}},
                                      upsert=True, session=session)

    def hired_candidate_ids(self, candidate_ids: list[str], session=None) -> set[str]:
        docs = self.db.candidates.find({"_id": {"$in": candidate_ids}, "hired": True}, {"_id": 1}, session=session)
        return {d["_id"] for d in docs}

    # -- pool ----------------------------------------------------------------------------------------
    def get_pool_entry(self, candidate_id: str, session=None) -> dict | None:
        return self.db.pool.find_one({"_id": candidate_id}, session=session)

    def save_pool_entry(self, entry: dict, session) -> None:
        self.db.pool.replace_one({"_id": entry["_id"]}, entry, upsert=True, session=session)
        self._pool_changed(entry["_id"], session)

    def update_pool_profile(self, candidate_id: str, division: str, name: str, skills: list[str],
                            skills_norm: list[str], session=None) -> None:
        """A newer profile from the division that pooled the person refreshes the entry; another division's
        never changes it."""
        result = self.db.pool.update_one(
            {"_id": candidate_id, "prior.division": division},
            {"$set": {"name": name, "skills": skills, "skills_norm": skills_norm}},
            session=session,
        )
        if result.matched_count:
            self._pool_changed(candidate_id, session)

    def withdraw_consent(self, candidate_id: str, at: datetime, session) -> dict:
        """The candidate withdrew talent-pool consent: out of the pool, out of stored match lists, every
        pending re-engagement withdrawn. Returns what changed."""
        self.db.candidates.update_one({"_id": candidate_id},
                                      {"$set": {"candidate_id": candidate_id, "consent_withdrawn_at": at},
                                       "$setOnInsert": {"hired": False}}, upsert=True, session=session)
        self.db.applications.update_many({"candidate_id": candidate_id}, {"$set": {"consent": False}},
                                         session=session)
        removed = self.remove_from_pool(candidate_id, session)
        withdrawn = self.db.reengagements.update_many(
            {"candidate_id": candidate_id, "status": "pending"},
            {"$set": {"status": "withdrawn", "answered_at": at}}, session=session).modified_count
        self.pull_from_matches(candidate_id, at, session)
        return {"removed_from_pool": removed, "reengagements_withdrawn": withdrawn}

    def erase_candidate(self, candidate_id: str, at: datetime, session) -> dict[str, int]:
        """Right to erasure: as a consent withdrawal (out of pool, matches and pending re-engagements), and
        the profile loses name and skills and the projections the free text of interviews and decisions.
        Re-engagement records and poolings stay without personal data (the talent-pool report counts them)."""
        changed = self.withdraw_consent(candidate_id, at, session)
        self.db.candidates.update_one({"_id": candidate_id}, {"$set": {"name": ERASED, "skills": [], "erased": True}},
                                      session=session)
        profiles = self.db.profiles.delete_many({"candidate_id": candidate_id}, session=session).deleted_count
        apps = self.db.applications.update_many({"candidate_id": candidate_id, "interview": {"$ne": None}},
                                                {"$set": {"interview.highlights": []}}, session=session).modified_count
        self.db.applications.update_many({"candidate_id": candidate_id, "decision": {"$ne": None}},
                                         {"$set": {"decision.note": None}}, session=session)
        # `erased` makes every later write of these projections a no-op (ServiceStore.write_document); `_rev`
        # moves, so a write that read one before this retries and sees it.
        self.db.applications.update_many({"candidate_id": candidate_id},
                                         {"$set": {"erased": True}, "$unset": {"pool_due": ""}, "$inc": {"_rev": 1}},
                                         session=session)
        reengagements = self.db.reengagements.update_many({"candidate_id": candidate_id},
                                                          {"$set": {"candidate_skills": []}},
                                                          session=session).modified_count
        return {"pool_entries": int(changed["removed_from_pool"]), "applications": apps, "profiles": profiles,
                "reengagements": reengagements, "reengagements_withdrawn": changed["reengagements_withdrawn"]}

    def reengagements_of(self, candidate_id: str) -> list[dict]:
        return list(self.db.reengagements.find({"candidate_id": candidate_id}).sort("_id", ASCENDING))

    def remove_from_pool(self, candidate_id: str, session=None) -> bool:
        removed = self.db.pool.delete_one({"_id": candidate_id}, session=session).deleted_count == 1
        if removed:
            self._pool_changed(candidate_id, session)
        return removed

    # -- the talent community ----------------------------------------------------------------------------
    def get_signup(self, signup_id: str, session=None) -> dict | None:
        return self.db.community.find_one({"_id": signup_id}, session=session)

    def signup_by_lookup(self, email_lookup: str, session=None) -> dict | None:
        return self.db.community.find_one({"email_lookup": email_lookup}, session=session)

    def save_signup(self, doc: dict, session) -> None:
        """Raises DuplicateKeyError when another sign-up of the same address was made meanwhile."""
        self.db.community.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)

    def link_member_candidate(self, signup_id: str, candidate_id: str, session=None) -> None:
        """A re-engagement made a sourcing candidate of the member: that candidate's erasure covers them."""
        self.db.community.update_one({"_id": signup_id}, {"$addToSet": {"candidate_ids": candidate_id}},
                                     session=session)

    def unconfirmed_signups(self, requested_before, limit: int) -> list[dict]:
        """Sign-ups never confirmed whose last request is older than `requested_before` (their link no longer
        confirms anything): the sweep forgets them."""
        return list(self.db.community.find({"status": "pending", "request.requested_at": {"$lt": requested_before}},
                                           limit=limit))

    def signups_of_candidate(self, candidate_id: str, session=None) -> list[dict]:
        return list(self.db.community.find({"candidate_ids": candidate_id}, session=session))

    # -- the match index -------------------------------------------------------------------------------
    def _pool_changed(self, candidate_id: str, session) -> None:
        self.db.pool_changes.insert_one({"_id": new_id("chg"), "candidate_id": candidate_id, "at": utcnow()},
                                        session=session)

    def pool_entries(self, candidate_ids: list[str], session=None) -> list[dict]:
        return list(self.db.pool.find({"_id": {"$in": candidate_ids}}, session=session))

    def pool_index(self) -> PoolIndex:
        """This process's match index, built from the pool on first use and brought up to date with every
        change committed since (by any replica). Builds happen once, under a lock (the service warms it
        at start, in the background)."""
        keeper = self.__dict__.get("_index_keeper")
        if keeper is None:
            keeper = self.__dict__.setdefault("_index_keeper", _IndexKeeper(self))
        return keeper.current()

    @staticmethod
    def pool_query(now: datetime, skill_norm: str | None = None, division: str | None = None) -> dict:
        query: dict = {"retain_until": {"$gt": now}}
        if skill_norm:
            query["skills_norm"] = skill_norm
        if division:  # pooled by that division's interview, or a community member interested in it
            query["$or"] = [{"prior.division": division}, {"divisions": division}]
        return query

    def active_pool(self, now: datetime, session=None) -> list[dict]:
        return list(self.db.pool.find(self.pool_query(now), session=session).sort("_id", ASCENDING))

    def list_pool(self, now: datetime, skill_norm: str | None, division: str | None, limit: int,
                  cursor: str | None) -> tuple[list[dict], str | None]:
        return self.page(self.db.pool, self.pool_query(now, skill_norm, division), limit, cursor)

    # -- matches -------------------------------------------------------------------------------------
    def save_matches(self, requisition_id: str, division: str, items: list[dict], computed_at: datetime,
                     session, **fields) -> None:
        """The latest matches replace the previous ones; `surfaced` keeps every candidate ever matched.
        `fields`: what else the stored list keeps (open, skills_norm, floor, refresh_at)."""
        self.db.matches.update_one(
            {"_id": requisition_id},
            {"$set": {"division": division, "items": items, "computed_at": computed_at, **fields},
             "$addToSet": {"surfaced": {"$each": [m["candidate_id"] for m in items]}}},
            upsert=True, session=session,
        )

    def get_matches(self, requisition_id: str, session=None) -> dict | None:
        return self.db.matches.find_one({"_id": requisition_id}, session=session)

    def read_matches(self, requisition_id: str) -> dict | None:
        """What GET serves: one find by id, the answer and its division only."""
        return self.db.matches.find_one({"_id": requisition_id}, {"division": 1, "items": 1})

    def replace_matches(self, requisition_id: str, items: list[dict], computed_at: datetime, **fields) -> bool:
        """A recompute's result, written only when the list changed (`surfaced` grows only then) and only
        over an older one (a slower replica's recompute never replaces a newer list). True if written."""
        stored = self.db.matches.find_one({"_id": requisition_id}, {"items": 1, "computed_at": 1, "refresh_at": 1})
        if stored is None:
            return False  # only lists made when the requisition opened are refreshed
        previous = stored.get("computed_at")
        if previous is not None and previous > computed_at:
            return False
        if stored.get("items") == items:
            if stored.get("refresh_at") != fields.get("refresh_at"):
                self.db.matches.update_one({"_id": requisition_id, "computed_at": previous},
                                           {"$set": {"refresh_at": fields.get("refresh_at")}})
            return False
        done = self.db.matches.update_one(
            {"_id": requisition_id, "computed_at": previous},
            {"$set": {"items": items, "computed_at": computed_at, **fields},
             "$addToSet": {"surfaced": {"$each": [m["candidate_id"] for m in items]}}})
        return done.modified_count == 1

    def close_matches(self, requisition_id: str, session) -> None:
        """A closed requisition's list stays as it was at the close and is no longer refreshed."""
        self.db.matches.update_one({"_id": requisition_id}, {"$set": {"open": False}, "$unset": {"refresh_at": ""}},
                                   session=session)

    def pull_from_matches(self, candidate_id: str, at: datetime, session, requisition_id: str | None = None) -> None:
        """Takes a candidate off the stored lists at once (hired, consent withdrawn, erased; or applying to
        `requisition_id`); the open ones are refilled by the next refresh."""
        query: dict = {"items.candidate_id": candidate_id}
        if requisition_id is not None:
            query["_id"] = requisition_id
        self.db.matches.update_many(query, {"$pull": {"items": {"candidate_id": candidate_id}},
                                            "$set": {"refresh_at": at, "floor": None}}, session=session)

    def take_new_applications(self) -> list[tuple[str, str]]:
        """(requisition, candidate) of the applications this process has not seen yet (by `seen_at`, with a
        look-back for writes that landed after a later one)."""
        state = self.__dict__.setdefault("_new_applications", {"since": utcnow() - APPLICATIONS_LOOKBACK, "seen": {}})
        asked = utcnow()
        docs = self.db.applications.find({"seen_at": {"$gte": state["since"]}},
                                         {"candidate_id": 1, "requisition_id": 1, "seen_at": 1})
        new = [d for d in docs if d["_id"] not in state["seen"]]
        seen = {**state["seen"], **{d["_id"]: d["seen_at"] for d in new}}
        state["since"] = asked - APPLICATIONS_LOOKBACK
        state["seen"] = {k: at for k, at in seen.items() if at >= state["since"]}
        return [(d["requisition_id"], d["candidate_id"]) for d in new
                if d.get("requisition_id") and d.get("candidate_id")]

    def pull_applicants(self, pairs: list[tuple[str, str]], at: datetime) -> None:
        """Takes each candidate off the stored list of the requisition they applied to, if on it."""
        if not pairs:
            return
        listed = self.db.matches.find({"_id": {"$in": sorted({r for r, _ in pairs})},
                                       "items.candidate_id": {"$in": sorted({c for _, c in pairs})}},
                                      {"items.candidate_id": 1})
        on = {(d["_id"], i["candidate_id"]) for d in listed for i in d.get("items") or []}
        for requisition_id, candidate_id in sorted(set(pairs) & on):
            self.pull_from_matches(candidate_id, at, None, requisition_id=requisition_id)

    def unlisted_requisitions(self) -> list[str]:
        return [d["_id"] for d in self.db.requisitions.find({"unlisted": True}, {"_id": 1})]

    def mark_listed(self, requisition_id: str) -> None:
        self.db.requisitions.update_one({"_id": requisition_id}, {"$unset": {"unlisted": ""}})

    def open_match_lists(self) -> list[dict]:
        """The open lists, as much as a pool change is checked against (domain.could_change_list)."""
        return list(self.db.matches.find({"open": True}, {"items.candidate_id": 1, "skills_norm": 1, "floor": 1}))

    def due_match_lists(self, now: datetime) -> list[str]:
        return [d["_id"] for d in self.db.matches.find({"refresh_at": {"$lte": now}}, {"_id": 1})]

    def open_requisitions_without_lists(self) -> list[str]:
        """Open requisitions known for matching that have no stored list (stored before lists were)."""
        ids = [d["_id"] for d in self.db.requisitions.find({"status": "open", "required_skills": {"$exists": True}},
                                                           {"_id": 1})]
        listed = {d["_id"] for d in self.db.matches.find({"_id": {"$in": ids}}, {"_id": 1})}
        return [i for i in ids if i not in listed]

    def take_pool_changes(self) -> tuple[dict[str, dict | None], bool]:
        """The pool changes this process's index applied since the last call (candidate id -> indexed entry,
        None when out of the pool), and whether the index was (re)built meanwhile (then any list may be
        stale: refresh them all)."""
        self.pool_index()
        return self.__dict__["_index_keeper"].take()

    # -- the talent-pool report ------------------------------------------------------------------------
    def log_pooling(self, candidate_id: str, application_id: str, division: str, reason: str, pooled_at: datetime,
                    session) -> None:
        self.db.poolings.replace_one(
            {"_id": f"{application_id}:{reason}"},
            {"candidate_id": candidate_id, "application_id": application_id, "division": division,
             "reason": reason, "pooled_at": pooled_at}, upsert=True, session=session)

    def poolings_of(self, candidate_id: str) -> list[dict]:
        return list(self.db.poolings.find({"candidate_id": candidate_id}).sort("pooled_at", ASCENDING))

    @staticmethod
    def _scoped(divisions: list[str] | None, division_field: str, span: dict | None = None,
                time_field: str | None = None) -> dict:
        query: dict = {}
        if divisions is not None:
            query[division_field] = {"$in": divisions}
        if span and time_field:
            query[time_field] = span
        return query

    def report_records(self, divisions: list[str] | None, span: dict | None, now: datetime) -> dict[str, list]:
        """What the talent-pool report counts, in `divisions` (None: all) and the period `span` (a MongoDB
        condition, None: any time): the pool now, poolings, requisitions opened and their matches,
        re-engagements requested, and the applications to urgent requisitions opened in the period."""
        pool = list(self.db.pool.find({**self._scoped(divisions, "prior.division"),
                                       "retain_until": {"$gt": now}}, {"candidate_id": 1, "retain_until": 1}))
        requisitions = list(self.db.requisitions.find(self._scoped(divisions, "division", span, "created_at"),
                                                      {"urgent": 1, "created_at": 1, "division": 1}))
        req_ids = [r["_id"] for r in requisitions]
        urgent_ids = [r["_id"] for r in requisitions if r.get("urgent")]
        return {
            "pool": pool,
            "hired": sorted(self.hired_candidate_ids([e["candidate_id"] for e in pool])),
            "poolings": list(self.db.poolings.find(self._scoped(divisions, "division", span, "pooled_at"))),
            "requisitions": requisitions,
            "matches": list(self.db.matches.find({"_id": {"$in": req_ids}}, {"surfaced": 1, "items.candidate_id": 1})),
            "reengagements": list(self.db.reengagements.find(self._scoped(divisions, "division", span, "created_at"),
                                                             {"status": 1, "created_at": 1, "division": 1})),
            "applications": list(self.db.applications.find(
                {"requisition_id": {"$in": urgent_ids}},
                {"requisition_id": 1, "offered_at": 1, "reengagement_id": 1, "source": 1})),
        }

    # -- re-engagements ------------------------------------------------------------------------------
    def insert_reengagement(self, doc: dict, session) -> None:
        """Raises DuplicateKeyError when this candidate was already re-engaged for this requisition."""
        self.db.reengagements.insert_one(doc, session=session)

    def get_reengagement(self, reengagement_id: str, session=None) -> dict | None:
        return self.db.reengagements.find_one({"_id": reengagement_id}, session=session)

    def find_reengagement(self, requisition_id: str, candidate_id: str, session=None) -> dict | None:
        return self.db.reengagements.find_one(
            {"requisition_id": requisition_id, "candidate_id": candidate_id}, session=session
        )

    def answer_reengagement(self, reengagement_id: str, changes: dict, session) -> dict | None:
        """Sets the answer only while pending (compare-and-set); None if it was answered meanwhile."""
        return update_and_get(self.db.reengagements, {"_id": reengagement_id, "status": "pending"},
                              {"$set": changes}, session=session)


class _IndexKeeper:
    """Builds a store's PoolIndex and applies the `pool_changes` it has not seen yet."""

    def __init__(self, store: TalentPoolStore):
        self.store = store
        self.index: PoolIndex | None = None
        self.lock = threading.Lock()
        self.since: datetime | None = None
        self.applied: dict[str, datetime] = {}  # change id -> its time, within the look-back
        self.pruned_at: datetime | None = None
        self.changed: dict[str, dict | None] = {}  # applied, not yet taken by the match-list refresh
        self.rebuilt = False

    def take(self) -> tuple[dict[str, dict | None], bool]:
        with self.lock:
            changed, rebuilt = self.changed, self.rebuilt
            self.changed, self.rebuilt = {}, False
            return changed, rebuilt

    def current(self) -> PoolIndex:
        with self.lock:
            if self.index is None:
                started = utcnow()
                index = PoolIndex()
                index.load(self.store.db.pool.find({}, INDEXED_FIELDS, batch_size=5000).sort("_id", ASCENDING))
                self.index, self.since = index, started - CHANGES_LOOKBACK
                self.rebuilt = True
                log.info("pool index built", extra={"candidates": index.live,
                                                    "seconds": round((utcnow() - started).total_seconds(), 1)})
            self._catch_up()
            return self.index

    def _catch_up(self) -> None:
        db = self.store.db
        asked_at = utcnow()
        changes = [c for c in db.pool_changes.find({"at": {"$gte": self.since}}, {"candidate_id": 1, "at": 1})
                   if c["_id"] not in self.applied]
        if changes:
            ids = sorted({c["candidate_id"] for c in changes})
            found = {d["_id"]: d for d in db.pool.find({"_id": {"$in": ids}}, INDEXED_FIELDS)}
            for cid in ids:
                if cid in found:
                    self.index.add(found[cid])
                else:
                    self.index.remove(cid)
                self.changed[cid] = found.get(cid)
            for c in changes:
                self.applied[c["_id"]] = c["at"]
        self.since = asked_at - CHANGES_LOOKBACK
        self.applied = {k: at for k, at in self.applied.items() if at >= self.since}
        now = utcnow()
        if self.pruned_at is None or now - self.pruned_at > timedelta(hours=1):
            self.pruned_at = now
            db.pool_changes.delete_many({"at": {"$lt": now - CHANGES_RETENTION}})
