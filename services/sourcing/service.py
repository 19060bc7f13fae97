"""The sourcing service shell: requisitions, candidates and applications over RPC; the status of each
application follows the events of screening and interview_feedback. Rules live in domain.py."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from services.sourcing import domain
from services.sourcing.store import SourcingStore
from shared.bus.nameko_ext import PoisonMessage, ServiceBase, Store, event_handler, rpc
from shared.contracts.commands import (
    CloseRequisition,
    ConfirmationIn,
    NewApplication,
    NewRequisition,
    OutcomeIn,
    PortalResponseIn,
)
from shared.contracts.common import AppStatus
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationScreened,
    ApprovalStepDecided,
    DecisionRecorded,
    InterviewCompleted,
    InterviewScheduled,
    OfferConfirmationRecorded,
    RequisitionClosed,
    RequisitionOpened,
)
from shared.crypto import open_sealed
from shared.errors import Conflict, Forbidden, Invalid, NotFound, NotYet
from shared.ids import new_id
from shared.timeutil import iso, utcnow
from shared.validation import parse

APP_STATUSES = {s.value for s in AppStatus}
# A race between two first applications of the same new candidate ends in a duplicate key; try again.
UPSERT_RACE_RETRIES = 3


class NotYetKnown(NotYet):
    """An event needs state sourcing has not got yet (an earlier event still on its way): retry later."""


# ----------------------------------------------------------------------------------------------------
# views


def requisition_view(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "status": doc["status"],
        "title": doc["title"],
        "division": doc["division"],
        "department": doc["department"],
        "tier": doc["tier"],
        "urgent": doc["urgent"],
        "required_skills": doc["required_skills"],
        "skills": doc["skills"],
        "min_years": doc["min_years"],
        "location": doc.get("location"),
        "headcount": doc["headcount"],
        "knockout_questions": doc.get("knockout_questions") or [],
        "created_at": iso(doc["created_at"]),
        "closed_at": iso(doc.get("closed_at")),
        "close_reason": doc.get("close_reason"),
    }


def application_view(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "requisition_id": doc["requisition_id"],
        "requisition_title": doc["requisition_title"],
        "candidate_id": doc["candidate_id"],
        "division": doc["division"],
        "department": doc.get("department", ""),
        "tier": doc["tier"],
        "urgent": doc.get("urgent", False),
        "source": doc["source"],
        "status": doc["status"],
        "screening": doc.get("screening"),
        "interview": doc.get("interview"),
        "decision": doc.get("decision"),
        "confirmation": _confirmation_view(doc.get("confirmation")),
        "talent_pool_consent": doc.get("talent_pool_consent", False),
        "timeline": [{"at": iso(e["at"]), "status": e["status"], "detail": e["detail"]} for e in doc["timeline"]],
        "created_at": iso(doc["created_at"]),
        "updated_at": iso(doc["updated_at"]),
    }


def _confirmation_view(c: dict | None) -> dict | None:
    if not c:
        return None
    return {"result": c["result"], "note": c.get("note"), "by": c["by"], "at": iso(c["at"])}


def candidate_view(doc: dict, application_ids: list[str]) -> dict:
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "email": open_sealed(doc["email"]),
        "phone": open_sealed(doc.get("phone")),
        "skills": doc.get("skills") or [],
        "years_experience": doc.get("years_experience"),
        "location": doc.get("location"),
        "applications": application_ids,
    }


# ----------------------------------------------------------------------------------------------------
# argument helpers


def _limit(limit) -> int:
    try:
        value = int(limit)
    except (TypeError, ValueError):
        raise Invalid("limit: must be an integer", field="limit") from None
    if value < 1:
        raise Invalid("limit: must be at least 1", field="limit")
    return value


def _optional_bool(value, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    raise Invalid(f"{field}: must be true or false", field=field)


def _rule(exc: domain.RuleViolation) -> Conflict:
    return Conflict(exc.message, code=exc.code)


def _duplicate(existing_id: str) -> Conflict:
    return Conflict(f"this candidate has already applied to this requisition: application {existing_id}",
                    code="duplicate_application")


class SourcingService(ServiceBase):
    name = "sourcing"
    store = Store(SourcingStore)

    # -- helpers -------------------------------------------------------------------------------------
    def _visible_requisition(self, caller, requisition_id: str, session=None, store=None) -> dict:
        doc = (store or self.store).get_requisition(requisition_id, session=session)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"requisition {requisition_id} not found")
        return doc

    def _visible_application(self, caller, application_id: str, session=None, store=None) -> dict:
        doc = (store or self.store).get_application(application_id, session=session)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"application {application_id} not found")
        return doc

    def _change(self, uow, app: dict, new_status: str, detail: str, *, override: bool = False) -> None:
        """Move the application, store it and announce the change, in the caller's unit of work."""
        previous = domain.move(app, new_status, detail, utcnow(), override=override)
        uow.store.save_application(app, uow.session)
        uow.emit("application_status_changed", domain.status_changed(app, previous))

    def _retry_on_candidate_race(self, run, candidate_id_for_conflict):
        """Run `run()`; a duplicate key is either the same application submitted twice concurrently
        (409) or two first applications of one new candidate racing (run again)."""
        for attempt in range(UPSERT_RACE_RETRIES):
            try:
                return run()
            except DuplicateKeyError:
                existing = candidate_id_for_conflict()
                if existing is not None:
                    raise _duplicate(existing["_id"]) from None
                if attempt == UPSERT_RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # -- requisitions --------------------------------------------------------------------------------
    @rpc
    def create_requisition(self, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("hr", "admin")
        cmd = parse(NewRequisition, data)
        if not caller.can_see(cmd.division):
            raise Forbidden(f"you may not open requisitions in division '{cmd.division}'")
        doc = {
            "_id": new_id("req"),
            "status": "open",
            **cmd.model_dump(mode="json"),
            "created_at": utcnow(),
            "created_by": caller.name,
            "closed_at": None,
            "close_reason": None,
        }

        def work(uow):
            uow.store.insert_requisition(doc, uow.session)
            uow.emit("requisition_opened", RequisitionOpened(requisition=domain.requisition_snapshot(doc)))

        self.bus.transact(work)
        return requisition_view(doc)

    @rpc
    def get_requisition(self, requisition_id: str) -> dict:
        return requisition_view(self._visible_requisition(self.bus.caller, requisition_id))

    @rpc
    def list_requisitions(self, division: str | None = None, status: str | None = None, urgent=None,
                          limit: int = 50, cursor: str | None = None) -> dict:
        caller = self.bus.caller
        limit = _limit(limit)
        urgent = _optional_bool(urgent, "urgent")
        if status is not None and status not in domain.REQUISITION_STATUSES:
            raise Invalid(f"status: must be one of {', '.join(domain.REQUISITION_STATUSES)}", field="status")
        divisions = caller.division_filter()
        if division is not None:
            if not caller.can_see(division):
                return {"items": [], "next_cursor": None}
            divisions = [division]
        docs, next_cursor = self.store.list_requisitions(divisions, status, urgent, limit, cursor)
        return {"items": [requisition_view(d) for d in docs], "next_cursor": next_cursor}

    @rpc
    def close_requisition(self, requisition_id: str, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("hr", "admin")
        cmd = parse(CloseRequisition, data)

        def work(uow):
            self._visible_requisition(caller, requisition_id, uow.session, uow.store)
            closed = uow.store.close_requisition(requisition_id, cmd.reason, utcnow(), uow.session)
            if closed is None:
                raise Conflict(f"requisition {requisition_id} is already closed", code="requisition_closed")
            uow.emit("requisition_closed", RequisitionClosed(
                requisition_id=requisition_id, division=closed["division"], reason=cmd.reason,
                closed_at=closed["closed_at"]))
            return closed

        return requisition_view(self.bus.transact(work))

    # -- applications --------------------------------------------------------------------------------
    @rpc
    def submit_application(self, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("recruiter", "hr", "admin")
        cmd = parse(NewApplication, data)
        profile = domain.profile_update(cmd.candidate)

        def work(uow):
            s = uow.session
            req = self._visible_requisition(caller, cmd.requisition_id, s, uow.store)
            if req["status"] != "open":
                raise Conflict(f"requisition {req['_id']} is closed", code="requisition_closed")
            unknown = domain.unknown_answers(cmd.answers, req.get("knockout_questions") or [])
            if unknown:
                raise Invalid(f"answers.{unknown[0]}: not a knock-out question of this requisition",
                              field=f"answers.{unknown[0]}")
            known = uow.store.find_candidate_by_email_key(profile["email_key"], session=s)
            if known is not None:
                dup = uow.store.find_application(known["_id"], req["_id"], session=s)
                if dup is not None:
                    raise _duplicate(dup["_id"])
            now = utcnow()
            cand = uow.store.upsert_candidate(profile, now, s)
            app = {
                "_id": new_id("app"),
                "requisition_id": req["_id"],
                "requisition_title": req["title"],
                "candidate_id": cand["_id"],
                "division": req["division"],
                "department": req["department"],
                "tier": req["tier"],
                "urgent": req["urgent"],
                "source": cmd.source,
                "status": AppStatus.received.value,
                "answers": dict(cmd.answers),
                "talent_pool_consent": cmd.talent_pool_consent,
                "screening": None,
                "interview_id": None,
                "interview": None,
                "decision": None,
                "confirmation": None,
                "reengagement_id": None,
                "timeline": [domain.timeline_entry(now, AppStatus.received, domain.received_detail(cmd.source))],
                "created_at": now,
                "updated_at": now,
                "submitted_by": caller.name,
            }
            uow.store.insert_application(app, s)
            uow.emit("application_received", ApplicationReceived(
                application_id=app["_id"], candidate_id=cand["_id"], requisition=domain.requisition_snapshot(req),
                candidate=domain.candidate_snapshot(cand), source=cmd.source,
                talent_pool_consent=cmd.talent_pool_consent, answers=dict(cmd.answers), received_at=now))
            uow.emit("application_status_changed", domain.status_changed(app, None))
            return app

        def existing():
            known = self.store.find_candidate_by_email_key(profile["email_key"])
            return known and self.store.find_application(known["_id"], cmd.requisition_id)

        app = self._retry_on_candidate_race(lambda: self.bus.transact(work), existing)
        return {"id": app["_id"], "candidate_id": app["candidate_id"], "status": app["status"]}

    @rpc
    def submit_fast_track_application(self, requisition_id: str, candidate_id: str, reengagement_id: str,
                                      reuse_interview_from: str | None = None) -> dict:
        caller = self.bus.caller
        caller.require_role("admin")  # talent_pool acts as the system; an admin may do it by hand

        def work(uow):
            s = uow.session
            req = self._visible_requisition(caller, requisition_id, s, uow.store)
            if req["status"] != "open":
                raise Conflict(f"requisition {requisition_id} is closed", code="requisition_closed")
            cand = uow.store.get_candidate(candidate_id, session=s)
            if cand is None:
                raise NotFound(f"candidate {candidate_id} not found")
            dup = uow.store.find_application(candidate_id, requisition_id, session=s)
            if dup is not None:
                raise _duplicate(dup["_id"])
            reused = None
            if reuse_interview_from:
                prior = uow.store.get_application(reuse_interview_from, session=s)
                if prior is None or prior["candidate_id"] != candidate_id or not prior.get("interview"):
                    raise Invalid(f"reuse_interview_from: application {reuse_interview_from} is not an interviewed "
                                  f"application of candidate {candidate_id}", field="reuse_interview_from")
                reused = domain.reused_interview(prior["interview"], reuse_interview_from)
            consent = any(a.get("talent_pool_consent") for a in uow.store.candidate_applications(candidate_id,
                                                                                                  session=s))
            now = utcnow()
            app = {
                "_id": new_id("app"),
                "requisition_id": req["_id"],
                "requisition_title": req["title"],
                "candidate_id": candidate_id,
                "division": req["division"],
                "department": req["department"],
                "tier": req["tier"],
                "urgent": req["urgent"],
                "source": "talent_pool",
                "status": AppStatus.received.value,
                "answers": {},
                "talent_pool_consent": consent,
                "screening": None,
                "interview_id": None,
                "interview": None,
                "decision": None,
                "confirmation": None,
                "reengagement_id": reengagement_id,
                "timeline": [domain.timeline_entry(now, AppStatus.received, domain.FAST_TRACK_RECEIVED)],
                "created_at": now,
                "updated_at": now,
                "submitted_by": caller.name,
            }
            uow.emit("application_received", ApplicationReceived(
                application_id=app["_id"], candidate_id=candidate_id, requisition=domain.requisition_snapshot(req),
                candidate=domain.candidate_snapshot(cand), source="talent_pool", talent_pool_consent=consent,
                answers={}, received_at=now,
                fast_track={"reengagement_id": reengagement_id, "reused_interview_from": reuse_interview_from}))
            uow.emit("application_status_changed", domain.status_changed(app, None))
            if reused is not None:
                previous = domain.start_with_reused_interview(app, reused, reuse_interview_from, now)
                uow.emit("application_status_changed", domain.status_changed(app, previous))
            uow.store.insert_application(app, s)
            return app

        def existing():
            return self.store.find_application(candidate_id, requisition_id)

        app = self._retry_on_candidate_race(lambda: self.bus.transact(work), existing)
        return {"id": app["_id"], "candidate_id": app["candidate_id"], "status": app["status"]}

    @rpc
    def get_application(self, application_id: str) -> dict:
        return application_view(self._visible_application(self.bus.caller, application_id))

    @rpc
    def list_applications(self, requisition_id: str, status: str | None = None, limit: int = 50,
                          cursor: str | None = None) -> dict:
        caller = self.bus.caller
        limit = _limit(limit)
        if status is not None and status not in APP_STATUSES:
            raise Invalid("status: not an application status", field="status")
        self._visible_requisition(caller, requisition_id)
        docs, next_cursor = self.store.list_applications(requisition_id, status, limit, cursor)
        return {"items": [application_view(d) for d in docs], "next_cursor": next_cursor}

    @rpc
    def get_candidate(self, candidate_id: str) -> dict:
        caller = self.bus.caller
        doc = self.store.get_candidate(candidate_id)
        if doc is None:
            raise NotFound(f"candidate {candidate_id} not found")
        visible = [a["_id"] for a in self.store.candidate_applications(candidate_id, caller.division_filter())]
        if not visible:
            raise NotFound(f"candidate {candidate_id} not found")
        return candidate_view(doc, visible)

    @rpc
    def record_confirmation(self, application_id: str, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("hr", "recruiter", "admin")
        cmd = parse(ConfirmationIn, data)

        def work(uow):
            app = self._visible_application(caller, application_id, uow.session, uow.store)
            try:
                domain.check_confirmable(app["status"])
            except domain.RuleViolation as exc:
                raise _rule(exc) from None
            now = utcnow()
            app["confirmation"] = {"result": cmd.result, "note": cmd.note, "by": caller.name, "at": now}
            app["timeline"].append(domain.timeline_entry(now, app["status"], domain.confirmation_detail(cmd.result)))
            app["updated_at"] = now
            uow.store.save_application(app, uow.session)
            uow.emit("offer_confirmation_recorded", OfferConfirmationRecorded(
                application_id=application_id, division=app["division"], result=cmd.result, note=cmd.note,
                by=caller.name, at=now))
            return app

        return application_view(self.bus.transact(work))

    @rpc
    def record_outcome(self, application_id: str, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("hr", "admin")
        cmd = parse(OutcomeIn, data)

        def work(uow):
            app = self._visible_application(caller, application_id, uow.session, uow.store)
            try:
                new_status = domain.outcome_status(app["status"], cmd.outcome)
                self._change(uow, app, new_status, domain.outcome_detail(cmd.outcome, caller.name))
            except domain.RuleViolation as exc:
                raise _rule(exc) from None
            return app

        return application_view(self.bus.transact(work))

    @rpc
    def candidate_response(self, application_id: str, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("admin")  # the portal calls as the system after checking the token
        cmd = parse(PortalResponseIn, data)

        def work(uow):
            app = self._visible_application(caller, application_id, uow.session, uow.store)
            try:
                new_status = domain.response_status(app["status"], cmd.response)
                self._change(uow, app, new_status, domain.response_detail(new_status))
            except domain.RuleViolation as exc:
                raise _rule(exc) from None
            return app

        return application_view(self.bus.transact(work))

    # -- events --------------------------------------------------------------------------------------
    def _application_for_event(self, uow, application_id: str, event_type: str) -> dict:
        app = uow.store.get_application(application_id, session=uow.session)
        if app is None:
            # Created in a transaction that may not be visible yet, or an event from the future: retry.
            raise NotYetKnown(f"{event_type}: application {application_id} is not known (yet)")
        return app

    def _follow(self, uow, app: dict, event_type: str, payload, detail, *, override: bool = False) -> None:
        """Apply what the domain says `event_type` does to `app`; store the data recorded on it."""
        try:
            step = domain.next_status_for_event(event_type, app["status"], payload)
        except ValueError as exc:
            raise PoisonMessage(str(exc)) from None
        if step.wait:
            raise NotYetKnown(f"{event_type} for application {app['_id']} ({app['status']}): {step.reason}")
        if step.status:
            self._change(uow, app, step.status, detail(step.status), override=override)
        else:
            app["updated_at"] = utcnow()
            uow.store.save_application(app, uow.session)

    @event_handler("screening", "application_screened")
    def on_application_screened(self, payload: ApplicationScreened, envelope):
        def work(uow):
            app = self._application_for_event(uow, payload.application_id, envelope.type)
            if not domain.keep_screening(app.get("screening"), payload.result):
                return  # a stale verdict: a person's later override stands
            app["screening"] = payload.result.model_dump(mode="json")
            self._follow(uow, app, envelope.type, payload, lambda _s: domain.screening_detail(payload.result),
                         override=bool(payload.result.override))

        self.bus.transact(work, envelope)

    @event_handler("interview_feedback", "interview_scheduled")
    def on_interview_scheduled(self, payload: InterviewScheduled, envelope):
        def work(uow):
            app = self._application_for_event(uow, payload.application_id, envelope.type)
            app["interview_id"] = payload.interview_id
            self._follow(uow, app, envelope.type, payload, lambda _s: domain.interview_scheduled_detail(payload))

        self.bus.transact(work, envelope)

    @event_handler("interview_feedback", "interview_completed")
    def on_interview_completed(self, payload: InterviewCompleted, envelope):
        def work(uow):
            app = self._application_for_event(uow, payload.application_id, envelope.type)
            app["interview"] = payload.summary.model_dump(mode="json")
            self._follow(uow, app, envelope.type, payload,
                         lambda _s: domain.interview_completed_detail(payload.summary))

        self.bus.transact(work, envelope)

    @event_handler("interview_feedback", "decision_recorded")
    def on_decision_recorded(self, payload: DecisionRecorded, envelope):
        def work(uow):
            app = self._application_for_event(uow, payload.application_id, envelope.type)
            app["decision"] = payload.decision.model_dump(mode="json")
            self._follow(uow, app, envelope.type, payload,
                         lambda s: domain.decision_detail(payload.decision, s))

        self.bus.transact(work, envelope)

    @event_handler("interview_feedback", "approval_step_decided")
    def on_approval_step_decided(self, payload: ApprovalStepDecided, envelope):
        def work(uow):
            app = self._application_for_event(uow, payload.application_id, envelope.type)
            self._follow(uow, app, envelope.type, payload, lambda _s: domain.approval_detail(payload))

        self.bus.transact(work, envelope)
