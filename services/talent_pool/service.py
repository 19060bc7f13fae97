"""The talent_pool service shell: pooled candidates, matches and re-engagement. Rules live in domain.py.

It learns requisitions, applications and candidates from sourcing's events (projections in its own
database), asks notification for the division's `reuse_interview_within`, and asks sourcing to create
the fast-tracked application when a re-engaged candidate accepts on the portal.
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.timer import timer
from pymongo.errors import DuplicateKeyError

from services.talent_pool import domain
from services.talent_pool.store import TalentPoolStore
from shared.bus.callers import CallerRpc
from shared.bus.nameko_ext import ServiceBase, Store, event_handler, implements
from shared.bus.remote import call, call_or_none
from shared.contracts import talent_pool as contract
from shared.contracts.commands import CandidateIn
from shared.contracts.common import normalize_email, normalize_skill
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationStatusChanged,
    CandidateErasureRequested,
    CandidatePooled,
    CommunityMemberLeft,
    CommunitySignupRequested,
    MatchesSurfaced,
    ReengagementAnswered,
    ReengagementRequested,
    RequisitionClosed,
    RequisitionOpened,
)
from shared.contracts.notification import GetPolicy
from shared.contracts.sourcing import SubmitFastTrackApplication
from shared.crypto import lookup, open_sealed, seal
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.policy import POLICY_TIMEOUT, policy_seconds
from shared.reports import report_scope
from shared.storage import AlreadyHandled
from shared.timeutil import iso, utcnow

log = logging.getLogger("hireloop.talent_pool")
# How often stored match lists catch up with pool changes: a candidate pooled shows in the matches of the
# open requisitions within about this (docs/decisions/005-stored-match-lists.md).
REFRESH_INTERVAL = 1.0
# Unconfirmed community sign-ups are looked for hourly, a batch at a time (they expire after 14 days).
UNCONFIRMED_SWEEP_SECONDS = 3600
UNCONFIRMED_SWEEP_BATCH = 200

# ----------------------------------------------------------------------------------------------------
# views


def _entry_view(doc: dict) -> contract.PoolEntry:
    prior = doc.get("prior") or {}
    return contract.PoolEntry.model_validate({
        "candidate_id": doc["candidate_id"],
        "name": doc.get("name") or "",
        "skills": doc.get("skills") or [],
        "prior": {
            "requisition_id": prior.get("requisition_id"),
            "requisition_title": prior.get("requisition_title"),
            "application_id": prior.get("application_id"),
            "division": prior.get("division"),
            "average": prior.get("average"),
            "by_competency": prior.get("by_competency") or {},
            "decided_at": iso(prior.get("decided_at")),
        },
        "reason": doc["reason"],
        "pooled_at": iso(doc["pooled_at"]),
        "retain_until": iso(doc["retain_until"]),
    })


def _reengagement_view(doc: dict) -> contract.ReengagementDetail:
    return contract.ReengagementDetail.model_validate({
        "id": doc["_id"],
        "requisition_id": doc["requisition_id"],
        "requisition_title": doc.get("requisition_title"),
        "division": doc["division"],
        "candidate_id": doc["candidate_id"],
        "status": doc["status"],
        "application_id": doc.get("application_id"),
        "fast_track": bool(doc.get("fast_track")),
        "created_at": iso(doc["created_at"]),
        "answered_at": iso(doc.get("answered_at")),
    })


def _member_view(doc: dict, entry: dict | None) -> contract.CommunityMember:
    request = doc.get("request") or {}
    # a pending sign-up shows what it asked for; a member what was confirmed
    shown = request if doc["status"] == "pending" else doc
    return contract.CommunityMember(
        id=doc["_id"], status=doc["status"], name=shown.get("name") or "", skills=list(shown.get("skills") or []),
        divisions=list(shown.get("divisions") or []), locale=shown.get("locale") or "en",
        requested_at=iso(request.get("requested_at") or doc.get("created_at")),
        confirmed_at=iso(doc.get("confirmed_at")), left_at=iso(doc.get("left_at")), in_pool=entry is not None,
        retain_until=iso(entry["retain_until"]) if entry else None)


def _requisition_doc(snapshot, existing: dict | None) -> dict:
    """The requisition projection from a snapshot; a close seen before keeps it closed."""
    closed = existing is not None and existing.get("status") == "closed"
    doc = {
        "_id": snapshot.id,
        "title": snapshot.title,
        "division": snapshot.division,
        "tier": snapshot.tier,
        "urgent": snapshot.urgent,
        "required_skills": list(snapshot.required_skills),
        "skills": list(snapshot.skills),
        "status": "closed" if closed else snapshot.status,
        "created_at": snapshot.created_at,
    }
    for key in ("closed_at", "surfaced_at"):
        if existing and existing.get(key):
            doc[key] = existing[key]
    return doc


class WarmPoolIndex(DependencyProvider):
    """Builds the match index from the store when the service starts, in the background (at 1 M pooled
    candidates this takes a minute; matches asked meanwhile wait for it)."""

    def start(self):
        store = next(d for d in self.container.extensions if isinstance(d, Store)).store

        def build():
            try:
                store.pool_index()
            except Exception:  # noqa: BLE001 - the first match request builds it again
                log.exception("pool index not built at start")

        self.container.spawn_managed_thread(build)


class TalentPoolService(ServiceBase):
    name = "talent_pool"
    store = Store(TalentPoolStore)
    warm_pool_index = WarmPoolIndex()
    sourcing = CallerRpc("sourcing")
    notification = CallerRpc("notification")

    # -- shared steps (inside a unit of work) ---------------------------------------------------------
    @staticmethod
    def _rank(store: TalentPoolStore, requisition: dict, now, session=None) -> tuple[list[dict], dict[str, Any]]:
        """The in-memory index picks the few entries that can rank first; domain ranks them (pool_index.py).
        Also answers the `retain_until` of each entry read (when a stored list falls due)."""
        index = store.pool_index()
        applying = store.applying_candidate_ids(requisition["_id"], session=session)
        hired: set[str] = set()
        while True:
            best = index.best(requisition, now, exclude=applying | hired)
            newly_hired = store.hired_candidate_ids(best, session=session) - hired
            if not newly_hired:  # a hire the index has not caught up with: leave them out and look again
                break
            hired |= newly_hired
        entries = sorted(store.pool_entries(best, session=session), key=lambda e: e["_id"])
        items = domain.find_matches(requisition, entries, now, applying=applying, hired=hired)
        return items, {e["_id"]: e["retain_until"] for e in entries}

    @classmethod
    def _compute_matches(cls, store: TalentPoolStore, requisition: dict, now, session=None) -> list[dict]:
        return cls._rank(store, requisition, now, session=session)[0]

    @staticmethod
    def _list_fields(requisition: dict, items: list[dict], now, retain_until: dict[str, Any]) -> dict:
        """What a stored list keeps besides its items (docs/decisions/005-stored-match-lists.md)."""
        return {"open": requisition.get("status") == "open", "skills_norm": domain.skills_norm(requisition),
                "floor": domain.list_floor(requisition, items),
                "refresh_at": domain.refresh_due(now, [retain_until[m["candidate_id"]] for m in items])}

    @classmethod
    def _store_matches(cls, store: TalentPoolStore, requisition: dict, now, session) -> list[dict]:
        """Computes a requisition's list and stores it (inside the caller's unit of work)."""
        items, retain_until = cls._rank(store, requisition, now, session=session)
        store.save_matches(requisition["_id"], requisition["division"], items, now, session,
                           **cls._list_fields(requisition, items, now, retain_until))
        return items

    def _pool(self, uow, candidate: dict, app: dict, reason: str, pooled_at) -> None:
        """Put (or refresh) the candidate in the pool unless a newer entry is already there."""
        store, s = uow.store, uow.session
        if domain.consent_withdrawn_for(candidate, app) or candidate.get("erased"):
            return  # consent given with this application was withdrawn on the portal since, or the data erased
        # Pooled as the division whose application pooled them knows them (docs/decisions/002).
        profile = store.get_profile(candidate["candidate_id"], app.get("division") or "", session=s)
        entry = domain.build_pool_entry(domain.with_division_profile(candidate, profile), app, reason, pooled_at,
                                        self.settings.pool_retention_days)
        if not domain.supersedes(entry, store.get_pool_entry(entry["_id"], session=s)):
            return
        # Writing the candidate makes a concurrent "hired" for the same person conflict with this unit of
        # work, so one of them retries and sees the other: a hired candidate never stays in the pool.
        store.touch_candidate(entry["_id"], pooled_at, s)
        store.save_pool_entry(entry, s)
        store.log_pooling(entry["_id"], app["_id"], app.get("division") or "", reason, pooled_at, s)
        uow.emit("candidate_pooled", CandidatePooled(
            candidate_id=entry["candidate_id"], application_id=app["_id"], division=app.get("division") or "",
            reason=reason, retain_until=entry["retain_until"]))

    @staticmethod
    def _candidate(store: TalentPoolStore, candidate_id: str, session) -> dict:
        return store.get_candidate(candidate_id, session=session) or {"candidate_id": candidate_id, "name": "",
                                                                        "skills": [], "hired": False}

    # -- events --------------------------------------------------------------------------------------
    @event_handler("sourcing", "requisition_opened")
    def on_requisition_opened(self, payload: RequisitionOpened, envelope):
        def work(uow):
            store, s = uow.store, uow.session
            existing = store.get_requisition(payload.requisition.id, session=s)
            req = _requisition_doc(payload.requisition, existing)
            if req["status"] != "open":
                store.save_requisition(req, s)
                return
            # Every open requisition's list is computed here, off the request path (GET only reads it);
            # an urgent one's is also announced (api-v1: surfaced at once).
            now = utcnow()
            items = self._store_matches(store, req, now, s)
            if req["urgent"] and not req.get("surfaced_at"):
                req["surfaced_at"] = now
                uow.emit("matches_surfaced", MatchesSurfaced(
                    requisition_id=req["_id"], division=req["division"],
                    candidate_ids=[m["candidate_id"] for m in items]))
            store.save_requisition(req, s)

        self.bus.transact(work, envelope)

    @event_handler("sourcing", "requisition_closed")
    def on_requisition_closed(self, payload: RequisitionClosed, envelope):
        def work(uow):
            store, s = uow.store, uow.session
            store.close_requisition(payload.requisition_id, payload.division, payload.closed_at, s)
            store.close_matches(payload.requisition_id, s)
            for app in store.applications_of_requisition(payload.requisition_id, status="offered", session=s):
                if app.get("received_at") is None:
                    continue  # its application_received pools it (domain.pool_due), with the person's profile
                candidate = self._candidate(store, app["candidate_id"], s)
                reason = domain.pool_reason_on_close(app, candidate_hired=bool(candidate.get("hired")))
                if reason:
                    self._pool(uow, candidate, app, reason, payload.closed_at)

        self.bus.transact(work, envelope)

    # -- the application projection (one document per application: domain.apply_received / apply_status_change)
    @event_handler("sourcing", "application_received")
    def on_application_received(self, payload: ApplicationReceived, envelope):
        req = payload.requisition
        received = {
            "application_id": payload.application_id, "candidate_id": payload.candidate_id,
            "requisition_id": req.id, "requisition_title": req.title, "division": req.division,
            "source": payload.source, "received_at": payload.received_at, "consent": payload.talent_pool_consent,
            "reengagement_id": (payload.fast_track or {}).get("reengagement_id"),
        }

        def after(app: dict) -> None:
            # Idempotent single commands, after the projection's write (its erased guard goes first).
            # `unlisted`: the refresh gives it its stored matches (requisition_opened's own write drops the mark)
            self.store.learn_requisition({**_requisition_doc(req, None), "unlisted": True})
            skills = list(payload.candidate.skills)
            if self.store.save_profile(payload.candidate_id, req.division, payload.candidate.name, skills,
                                       payload.received_at) == "updated":
                # A division's newer profile refreshes the pool entry that division made. A profile just created
                # has no such entry: pooling waits for application_received (domain.pool_due); only entries
                # pooled before profiles per division existed wait for that division's next application.
                self.store.update_pool_profile(payload.candidate_id, req.division, payload.candidate.name, skills,
                                               sorted({normalize_skill(x) for x in skills}))
            if app.get("pool_due"):
                self._pool_application(app["_id"], envelope)

        # `seen_at`: the refresh finds new applications by it and takes their candidates off that requisition's
        # stored matches (no command added here). Nearly always the application's first event here: inserted
        # without a read first (a clash reads).
        received["seen_at"] = utcnow()
        self._project(payload.application_id, lambda state: domain.apply_received(state, received), envelope, after,
                      new=True)

    @event_handler("sourcing", "application_status_changed")
    def on_application_status_changed(self, payload: ApplicationStatusChanged, envelope):
        store = self.store
        if payload.status == "hired":
            # Idempotent, before the projection's write (a redelivery repeats them harmlessly). Marked first,
            # removed second: a pooling that raced past the mark is removed here (see _pool).
            store.mark_hired(payload.candidate_id, payload.application_id, payload.at)
            if store.remove_from_pool(payload.candidate_id):
                store.pull_from_matches(payload.candidate_id, utcnow(), None)  # hired: on no list from now
        closed = None
        if payload.status == "offered":
            # An offer on a requisition that closed before it reached us pools as the close would have.
            req = store.get_requisition(payload.requisition_id)
            closed = req is not None and req.get("status") == "closed"
        change = {
            **payload.model_dump(include={"application_id", "candidate_id", "requisition_id", "requisition_title",
                                          "division", "source", "status", "previous_status", "at", "sequence",
                                          "reengagement_id"}),
            "consent": payload.talent_pool_consent,
            "decision": payload.decision.model_dump() if payload.decision is not None else None,
            "interview": payload.interview.model_dump() if payload.interview is not None else None,
        }

        def after(app: dict) -> None:
            if app.get("pool_due"):
                self._pool_application(app["_id"], envelope)

        self._project(payload.application_id,
                      lambda state: domain.apply_status_change(state, change, requisition_closed=closed),
                      envelope, after)

    def _project(self, application_id: str, apply, envelope, after, *, new: bool = False) -> None:
        """One write of the application's projection (created by whichever event comes first), then `after`
        (idempotent steps on other documents). A redelivery of an event already applied runs `after` again
        before it is acknowledged: the first delivery may have stopped between the write and those steps."""
        def decide(state, _change):
            new = apply(state)
            return None if new == state else new  # nothing changes: no write

        try:
            app = self.bus.write("applications", application_id, decide, envelope, new=new)
        except AlreadyHandled:
            app = self.store.get_application(application_id)
            if app is not None and not app.get("erased"):
                after(app)
            raise
        if app is not None:  # None: the candidate was erased, nothing to do
            after(app)

    def _pool_application(self, application_id: str, envelope) -> None:
        """The pooling step (domain.pool_due): candidate, pool entry, poolings and `candidate_pooled` in one
        transaction, which also clears `pool_due` (so it happens once). Terminal statuses only."""
        def work(uow):
            store, s = uow.store, uow.session
            app = store.get_application(application_id, session=s)
            if app is None or not app.get("pool_due") or app.get("erased"):
                return
            candidate = self._candidate(store, app["candidate_id"], s)
            hired = bool(candidate.get("hired"))
            if app["status"] in domain.UNHIRED_ENDINGS:
                reason = domain.pool_reason(app, app["status"], candidate_hired=hired)
            else:
                req = store.get_requisition(app["requisition_id"], session=s)
                closed = req is not None and req.get("status") == "closed"
                reason = domain.pool_reason_on_close(app, candidate_hired=hired) if closed else None
            if reason:
                self._pool(uow, candidate, app, reason, app["status_at"])
            store.settle_pooling(application_id, s)

        try:
            self.bus.transact(work, envelope)
        except AlreadyHandled:
            pass  # this event's pooling step ran before (and cleared pool_due with it)

    # -- pool and matches ------------------------------------------------------------------------------
    @implements(contract.ListPool)
    def list_pool(self, caller, args: contract.ListPoolArgs) -> contract.PoolPage:
        # The pool is group-wide: no division scope (the division filters by the pooling division).
        now = utcnow()
        docs, next_cursor = self.store.list_pool(now, normalize_skill(args.skill) if args.skill else None,
                                                 args.division or None, args.limit, args.cursor)
        hired = self.store.hired_candidate_ids([d["candidate_id"] for d in docs])
        items = [_entry_view(d) for d in docs if domain.is_active(d, now, d["candidate_id"] in hired)]
        return contract.PoolPage(items=items, next_cursor=next_cursor)

    def _visible_requisition(self, caller, requisition_id: str, session=None, store=None) -> dict:
        req = (store or self.store).get_requisition(requisition_id, session=session)
        # A stub from a close that overtook the opening has no skills yet: not known for matching.
        if req is None or "required_skills" not in req or not caller.can_see(req.get("division")):
            raise NotFound(f"requisition {requisition_id} not found", code="requisition_not_found")
        return req

    @implements(contract.GetMatches)
    def get_matches(self, caller, args: contract.RequisitionArgs) -> list[contract.Match]:
        """The stored list, as the last computation left it (docs/decisions/005-stored-match-lists.md): one
        find, no write. A requisition known without one (learned before lists were stored) is ranked here
        without storing anything; the refresh stores its list."""
        requisition_id = args.requisition_id
        stored = self.store.read_matches(requisition_id)
        if stored is not None and caller.can_see(stored.get("division")):
            return stored["items"]
        req = self._visible_requisition(caller, requisition_id)
        return self._compute_matches(self.store, req, utcnow())

    @timer(interval=REFRESH_INTERVAL)
    def refresh_matches(self) -> int:
        """Takes new applicants off their requisition's list, gives requisitions learned from a snapshot their
        list, and recomputes the stored lists a pool change can alter (any replica's: the index applies every
        `pool_changes` record), the ones due (an entry past `retain_until`, a day old, a candidate taken off)
        and, after the index was built, every open one. Returns how many lists changed."""
        changed, rebuilt = self.store.take_pool_changes()
        now = utcnow()
        self.store.pull_applicants(self.store.take_new_applications(), now)
        for requisition_id in self.store.unlisted_requisitions():  # learned from an application's snapshot
            req = self.store.get_requisition(requisition_id)
            if req is not None and req.get("status") == "open" and "required_skills" in req:
                self._store_matches(self.store, req, now, None)
            self.store.mark_listed(requisition_id)
        due = set(self.store.due_match_lists(now))
        if rebuilt:
            for requisition_id in self.store.open_requisitions_without_lists():
                self._store_matches(self.store, self.store.get_requisition(requisition_id), now, None)
            due |= {d["_id"] for d in self.store.open_match_lists()}
        elif changed:
            due |= set(domain.affected_lists(changed, self.store.open_match_lists(), now))
        written = 0
        for requisition_id in sorted(due):
            req = self.store.get_requisition(requisition_id)
            if req is None or req.get("status") != "open" or "required_skills" not in req:
                self.store.close_matches(requisition_id, None)
                continue
            items, retain_until = self._rank(self.store, req, now)
            written += self.store.replace_matches(requisition_id, items, now,
                                                  **self._list_fields(req, items, now, retain_until))
        return written

    # -- report --------------------------------------------------------------------------------------
    @implements(contract.PoolReport)
    def pool_report(self, caller, args: contract.ReportArgs) -> contract.TalentPoolReport:
        """GET /v1/reports/talent-pool: the pool now, and what was pooled, surfaced and re-engaged in
        [from, to) (domain.talent_pool_report says which time bounds which figure)."""
        scope = report_scope(caller, args.division, args.start, args.end)
        now = utcnow()
        records = self.store.report_records(scope.divisions, scope.time_query(), now)
        return contract.TalentPoolReport.model_validate({**scope.echo(), **domain.talent_pool_report(records, now)})

    # -- re-engagement -------------------------------------------------------------------------------
    @implements(contract.Reengage)
    def reengage(self, caller, args: contract.ReengageArgs) -> contract.Reengagement:
        requisition_id, candidate_id = args.requisition_id, args.candidate_id
        req = self._visible_requisition(caller, requisition_id)
        if req.get("status") != "open":
            raise Conflict(f"requisition {requisition_id} is closed", code="requisition_closed")
        if self.store.find_reengagement(requisition_id, candidate_id) is not None:
            raise Conflict(f"candidate {candidate_id} was already re-engaged for requisition {requisition_id}",
                           code="already_reengaged")

        def work(uow):
            store, s = uow.store, uow.session
            now = utcnow()
            matches = self._compute_matches(store, req, now, session=s)
            if not any(m["candidate_id"] == candidate_id for m in matches):
                raise NotFound(f"candidate {candidate_id} is not a current match of requisition {requisition_id}",
                               code="not_a_match")
            entry = store.get_pool_entry(candidate_id, session=s) or {}
            doc = {
                "_id": new_id("reg"),
                "requisition_id": requisition_id,
                "requisition_title": req.get("title"),
                "division": req["division"],
                "candidate_id": candidate_id,
                "status": "pending",
                "requested_by": caller.name,
                "created_at": now,
                "answered_at": None,
                "application_id": None,
                "fast_track": False,
                # What the match rested on, in case the pool entry changes before the candidate answers.
                "prior": entry.get("prior"),
                "candidate_skills": entry.get("skills") or [],
            }
            try:
                store.insert_reengagement(doc, s)
            except DuplicateKeyError:
                raise Conflict(f"candidate {candidate_id} was already re-engaged for requisition {requisition_id}",
                               code="already_reengaged") from None
            uow.emit("reengagement_requested", ReengagementRequested(
                reengagement_id=doc["_id"], requisition_id=requisition_id, requisition_title=doc["requisition_title"]
                or "", division=doc["division"], candidate_id=candidate_id, requested_by=caller.name))
            return doc

        doc = self.bus.transact(work)
        return contract.Reengagement(id=doc["_id"], requisition_id=requisition_id, candidate_id=candidate_id,
                                     status=doc["status"])

    def _visible_reengagement(self, caller, reengagement_id: str) -> dict:
        doc = self.store.get_reengagement(reengagement_id)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"re-engagement {reengagement_id} not found", code="reengagement_not_found")
        return doc

    @implements(contract.GetReengagement)
    def get_reengagement(self, caller, args: contract.ReengagementArgs) -> contract.ReengagementDetail:
        return _reengagement_view(self._visible_reengagement(caller, args.reengagement_id))

    def _reuse_window(self, division: str) -> int:
        """The division's `reuse_interview_within` in seconds; the policy default when notification can't say."""
        answer = call_or_none(self.notification, GetPolicy, POLICY_TIMEOUT, division=division)
        return policy_seconds(answer, "reuse_interview_within")

    @implements(contract.RespondReengagement)
    def respond_reengagement(self, caller, cmd: contract.RespondArgs) -> contract.ReengagementDetail:
        """Only the candidate, through the portal (a system caller), answers a re-engagement."""
        reengagement_id = cmd.reengagement_id
        doc = self._visible_reengagement(caller, reengagement_id)
        if doc["status"] != "pending":
            raise Conflict(f"re-engagement {reengagement_id} was already answered ({doc['status']})",
                           code="already_answered")
        status = domain.answer_status(cmd.response)
        changes: dict[str, Any] = {"status": status, "answered_at": utcnow(), "fast_track": False}
        if status == "accepted":
            changes.update(self._accept(doc))

        def work(uow):
            updated = uow.store.answer_reengagement(reengagement_id, changes, uow.session)
            if updated is None:
                raise Conflict(f"re-engagement {reengagement_id} was already answered", code="already_answered")
            uow.emit("reengagement_answered", ReengagementAnswered(
                reengagement_id=reengagement_id, requisition_id=updated["requisition_id"],
                division=updated["division"], candidate_id=updated["candidate_id"], response=cmd.response,
                application_id=updated.get("application_id")))
            return updated

        return _reengagement_view(self.bus.transact(work))

    def _candidate_of(self, application_id: str | None, reengagement_id: str | None) -> str:
        if reengagement_id:
            doc = self.store.get_reengagement(reengagement_id)
            if doc is not None:
                return doc["candidate_id"]
        if application_id:
            app = self.store.get_application(application_id)
            if app is not None:
                return app["candidate_id"]
        raise NotFound("no candidate for this link", code="candidate_not_found")

    @implements(contract.ConsentStatus)
    def consent_status(self, caller, args: contract.PortalLinkArgs) -> contract.PoolConsent:
        """For the portal: is the candidate in the pool, and did they withdraw consent."""
        candidate_id = self._candidate_of(args.application_id, args.reengagement_id)
        candidate = self.store.get_candidate(candidate_id) or {}
        return contract.PoolConsent(in_pool=self.store.get_pool_entry(candidate_id) is not None,
                                    withdrawn=candidate.get("consent_withdrawn_at") is not None)

    @implements(contract.WithdrawConsent)
    def withdraw_consent(self, caller, args: contract.PortalLinkArgs) -> contract.ConsentWithdrawal:
        """The candidate, on the portal, withdraws talent-pool consent: removed from the pool and from every
        pending re-engagement at once (one transaction)."""
        candidate_id = self._candidate_of(args.application_id, args.reengagement_id)

        def work(uow):
            signup = uow.store.get_signup(candidate_id, session=uow.session) if domain.is_member_id(
                candidate_id) else None
            if signup is not None:  # a community member's re-engagement link: leaving the pool is leaving
                return self._leave(uow, signup, utcnow())
            return uow.store.withdraw_consent(candidate_id, utcnow(), uow.session)

        changed = self.bus.transact(work)
        return contract.ConsentWithdrawal(candidate_id=candidate_id, talent_pool_consent=False, **changed)

    # -- right of access and erasure -------------------------------------------------------------------
    @event_handler("sourcing", "candidate_erasure_requested")
    def on_candidate_erasure_requested(self, payload: CandidateErasureRequested, envelope):
        self.erase_candidate_data(payload, envelope, lambda uow: self._erase_candidate(uow, payload.candidate_id))

    def _erase_candidate(self, uow, candidate_id: str) -> dict[str, int]:
        now = utcnow()
        counts = uow.store.erase_candidate(candidate_id, now, uow.session)
        # a talent-community member a re-engagement made this candidate of leaves with them
        members = [self._leave(uow, signup, now)
                   for signup in uow.store.signups_of_candidate(candidate_id, session=uow.session)]
        return {**counts, "community_signups": len(members)}

    @implements(contract.ExportCandidate)
    def export_candidate(self, caller, args: contract.ExportArgs) -> contract.TalentPoolExport:
        """Right of access: the pool entry, consent, every re-engagement and every time they were pooled."""
        candidate_id = args.candidate_id
        entry = self.store.get_pool_entry(candidate_id)
        candidate = self.store.get_candidate(candidate_id) or {}
        return contract.TalentPoolExport(
            pool_entry=_entry_view(entry) if entry else None,
            # what each division's applications told the pool (docs/decisions/002)
            profiles=[contract.PoolProfile(division=p["division"], name=p.get("name") or "",
                                           skills=p.get("skills") or [], seen_at=iso(p.get("profile_at")))
                      for p in self.store.profiles_of(candidate_id)],
            consent_withdrawn_at=iso(candidate.get("consent_withdrawn_at")),
            reengagements=[_reengagement_view(d) for d in self.store.reengagements_of(candidate_id)],
            poolings=[contract.Pooling(application_id=d["application_id"], division=d["division"],
                                       reason=d["reason"], pooled_at=iso(d["pooled_at"]))
                      for d in self.store.poolings_of(candidate_id)])

    def _accept(self, doc: dict) -> dict:
        """Creates the application through sourcing, fast-tracked when the prior pass can be reused."""
        req = self.store.get_requisition(doc["requisition_id"]) or {}
        entry = self.store.get_pool_entry(doc["candidate_id"]) or {}
        prior = entry.get("prior") or doc.get("prior") or {}
        candidate = self.store.get_candidate(doc["candidate_id"]) or {}
        # The skills the match rested on: the pool entry's (the pooling division's profile).
        skills = entry.get("skills") or doc.get("candidate_skills") or candidate.get("skills") or []
        fast = domain.fast_track_eligible(prior.get("decided_at"), utcnow(), self._reuse_window(doc["division"]),
                                          skills, req.get("required_skills") or [])
        reuse_from = prior.get("application_id") if fast else None
        if reuse_from is None:
            fast = False
        member = self._member_candidate(doc["candidate_id"], skills)
        try:
            accepted = call(self.sourcing, SubmitFastTrackApplication, 3 * self.settings.rpc_timeout,
                            requisition_id=doc["requisition_id"], candidate_id=doc["candidate_id"],
                            reengagement_id=doc["_id"], reuse_interview_from=reuse_from,
                            **({"candidate": member} if member is not None else {}))
            application_id = accepted.id
            if member is not None:  # the candidate's erasure now covers the sign-up too
                self.store.link_member_candidate(doc["candidate_id"], accepted.candidate_id)
        except Conflict:
            # An earlier attempt may have created the application before failing here: link it if so.
            existing = self.store.application_for_reengagement(doc["_id"])
            if existing is None:
                raise
            application_id = existing["_id"]
        return {"application_id": application_id, "fast_track": fast}

    def _member_candidate(self, candidate_id: str, skills: list[str]) -> dict | None:
        """A community member's details for the application their acceptance makes (they have no sourcing
        candidate yet); None for anyone pooled from an application."""
        if not domain.is_member_id(candidate_id):
            return None
        signup = self.store.get_signup(candidate_id)
        if signup is None or signup.get("status") != "member":
            raise NotFound("this member left the talent community", code="candidate_not_found")
        return CandidateIn(name=signup["name"], email=open_sealed(signup["email"]), skills=skills or [],
                           years_experience=0).model_dump(mode="json")

    # -- the talent community (issue 18): double opt-in sign-ups, pooled with reason `community` ----------
    def _signup(self, store: TalentPoolStore, signup_id: str, session=None) -> dict:
        doc = store.get_signup(signup_id, session=session)
        if doc is None:
            raise NotFound("this link is not valid", code="signup_not_found")
        return doc

    @implements(contract.JoinCommunity)
    def join_community(self, caller, args: contract.JoinCommunityArgs) -> contract.CommunitySignupAccepted:
        """A pending sign-up and its confirmation email; the same sign-up again for an address already known
        (pending or member: the answer never says which)."""
        now = utcnow()
        email_lookup = lookup(normalize_email(args.email))
        sealed = seal(args.email)
        request = domain.community_request(args.model_dump(), now)

        def work(uow):
            existing = uow.store.signup_by_lookup(email_lookup, session=uow.session)
            doc = domain.join(existing, request, new_id("mem"), sealed, email_lookup, now)
            uow.store.save_signup(doc, uow.session)
            uow.emit("community_signup_requested", CommunitySignupRequested(
                candidate_id=doc["_id"], name=request["name"], email=sealed, locale=request["locale"],
                request=doc["requests"], requested_at=now))

        try:
            self.bus.transact(work)
        except DuplicateKeyError:  # the same address joined at the same moment: join that sign-up
            self.bus.transact(work)
        return contract.CommunitySignupAccepted(status="pending")

    @implements(contract.ConfirmCommunity)
    def confirm_community(self, caller, args: contract.SignupArgs) -> contract.CommunityMember:
        """The emailed link, posted: the waiting request becomes the member's profile and pool entry (reason
        `community`, retained `pool_retention_days`). Posting it again changes nothing."""
        now = utcnow()

        def work(uow):
            store, s = uow.store, uow.session
            signup = self._signup(store, args.signup_id, s)
            confirmed = domain.confirm(signup, now)
            if confirmed is None:
                return signup
            store.save_signup(confirmed, s)
            entry = domain.build_member_entry(confirmed, now, self.settings.pool_retention_days)
            store.save_pool_entry(entry, s)
            store.log_pooling(entry["_id"], confirmed["_id"], "", domain.COMMUNITY, now, s)
            return confirmed

        doc = self.bus.transact(work)
        return _member_view(doc, self.store.get_pool_entry(doc["_id"]))

    @implements(contract.GetCommunityMember)
    def get_community_member(self, caller, args: contract.SignupArgs) -> contract.CommunityMember:
        doc = self._signup(self.store, args.signup_id)
        return _member_view(doc, self.store.get_pool_entry(doc["_id"]))

    @implements(contract.LeaveCommunity)
    def leave_community(self, caller, args: contract.SignupArgs) -> contract.CommunityMember:
        """Out of the pool, stored match lists and pending re-engagements at once; the sign-up keeps no
        personal data. Leaving twice changes nothing more."""
        def work(uow):
            signup = self._signup(uow.store, args.signup_id, uow.session)
            self._leave(uow, signup, utcnow())
            return uow.store.get_signup(args.signup_id, session=uow.session)

        return _member_view(self.bus.transact(work), None)

    @timer(interval=UNCONFIRMED_SWEEP_SECONDS)
    def forget_unconfirmed_signups(self) -> int:
        """A sign-up nobody confirmed within its link's life (domain.CONFIRM_WITHIN) holds an address someone
        typed, perhaps not its owner's: it is forgotten as if they had left (notification forgets the address
        too). Returns how many."""
        now = utcnow()
        forgotten = 0
        for signup in self.store.unconfirmed_signups(now - domain.CONFIRM_WITHIN, UNCONFIRMED_SWEEP_BATCH):
            def work(uow, signup_id=signup["_id"]):
                current = uow.store.get_signup(signup_id, session=uow.session)
                if current is None or current.get("status") != "pending":
                    return 0  # confirmed or gone meanwhile
                self._leave(uow, current, now)
                return 1
            forgotten += self.bus.transact(work)
        return forgotten

    @staticmethod
    def _leave(uow, signup: dict, now) -> dict:
        """Inside a unit of work: the sign-up forgets the person, and so does the pool (as an erasure of that
        id does); notification forgets their address. Returns what changed."""
        if signup.get("status") == "left":
            return {"removed_from_pool": False, "reengagements_withdrawn": 0}
        store, s = uow.store, uow.session
        store.save_signup(domain.left(signup, now), s)
        changed = store.erase_candidate(signup["_id"], now, s)
        uow.emit("community_member_left", CommunityMemberLeft(candidate_id=signup["_id"], left_at=now))
        return {"removed_from_pool": bool(changed["pool_entries"]),
                "reengagements_withdrawn": changed["reengagements_withdrawn"]}
