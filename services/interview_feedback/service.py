"""The interview_feedback service shell: interviews, scorecards, decisions and approval chains.

It consumes no events: it asks sourcing for an application's status, division and tier (which also
enforces the caller's scope) and notification for the division's approval SLA. Rules live in domain.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from services.interview_feedback import domain
from services.interview_feedback.store import InterviewFeedbackStore
from shared.bus.callers import CallerRpc
from shared.bus.nameko_ext import ServiceBase, Store, event_handler, rpc
from shared.bus.remote import UpstreamUnavailable, call, policy_seconds
from shared.config import load
from shared.contracts.commands import ApprovalDecisionIn, DecisionIn, NewInterview, ScorecardIn
from shared.contracts.events import (
    ApprovalsRequested,
    ApprovalStep,
    ApprovalStepDecided,
    CandidateErasureRequested,
    DecisionInfo,
    DecisionRecorded,
    InterviewCompleted,
    InterviewScheduled,
    InterviewSummary,
    ScorecardSubmitted,
)
from shared.contracts.sourcing import GetApplication
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.ids import new_id
from shared.reports import report_scope
from shared.timeutil import iso, utcnow
from shared.timeutil import parse as parse_time
from shared.validation import id_list, parse

log = logging.getLogger("hireloop.interview_feedback")



# ----------------------------------------------------------------------------------------------------
# views


def _card_view(card: dict) -> dict:
    return {
        "interviewer": card["interviewer"],
        "ratings": card["ratings"],
        "recommendation": card["recommendation"],
        "highlights": card.get("highlights", []),
        "notes": card.get("notes", ""),
        "submitted_at": iso(card["submitted_at"]),
    }


def _interview_view(doc: dict, cards: list[dict], summary: dict | None) -> dict:
    return {
        "id": doc["_id"],
        "application_id": doc["application_id"],
        "division": doc["division"],
        "status": doc["status"],
        "interviewers": doc["interviewers"],
        "competencies": doc["competencies"],
        "scheduled_at": iso(doc["scheduled_at"]),
        "created_at": iso(doc["created_at"]),
        "completed_at": iso(doc.get("completed_at")),
        "scorecards": [_card_view(c) for c in cards],
        "summary": summary,
    }


def _step_from_doc(doc: dict) -> dict:
    """A stored approval step in the domain's shape (`id`, not `_id`)."""
    return {
        "id": doc["_id"],
        "step": doc["step"],
        "role": doc["role"],
        "status": doc["status"],
        "expected_by": doc["expected_by"],
        "decided_at": doc.get("decided_at"),
        "decided_by": doc.get("decided_by"),
        "note": doc.get("note"),
    }


def _step_view(step: dict) -> dict:
    return {**step, "expected_by": iso(step["expected_by"]), "decided_at": iso(step["decided_at"])}


def _decision_view(doc: dict, steps: list[dict]) -> dict:
    return {
        "application_id": doc["_id"],
        "outcome": doc["outcome"],
        "next_status": doc["next_status"],
        "note": doc.get("note"),
        "decided_by": doc.get("decided_by"),
        "decided_at": iso(doc["decided_at"]),
        "approvals": [_step_view(s) for s in steps],
    }


def _now() -> datetime:
    """Now, to the millisecond MongoDB keeps: what a write returns equals what a later read shows."""
    return _ms(utcnow())


def _ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)




def _refuse_if_erased(uow, application_id: str, candidate_id: str | None) -> None:
    """Nothing more is recorded about an erased candidate (free text would outlive the erasure)."""
    if uow.store.erased_any([candidate_id] if candidate_id else [], [application_id], session=uow.session):
        raise Conflict(f"application {application_id} belongs to an erased candidate; nothing more is recorded "
                       "for it", code="application_erased")


class InterviewFeedbackService(ServiceBase):
    name = "interview_feedback"
    store = Store(InterviewFeedbackStore)
    sourcing = CallerRpc("sourcing")
    notification = CallerRpc("notification")

    # -- other services ----------------------------------------------------------------------------
    def _application(self, application_id: str) -> dict:
        """The application as sourcing shows it to this caller (NotFound when out of scope): the declared
        answer (shared/contracts/sourcing.py), in its JSON form."""
        try:
            return call(self.sourcing, GetApplication, load().rpc_timeout,
                        application_id=application_id).model_dump(mode="json")
        except UpstreamUnavailable as exc:
            raise UpstreamUnavailable(f"sourcing: {exc}") from None

    def _approval_sla(self, division: str) -> int:
        """The division's approval SLA in seconds; the policy default when notification can't say."""
        return policy_seconds(self.notification, division, "approval_sla")

    def _visible_interview(self, interview_id: str) -> dict:
        caller = self.bus.caller
        doc = self.store.get_interview(interview_id)
        if (doc is None or not caller.can_see(doc["division"])
                or not domain.on_panel(caller.role, caller.name, doc["interviewers"])):
            raise NotFound(f"no interview {interview_id}")
        return doc

    # -- right of access and erasure -------------------------------------------------------------------
    @event_handler("sourcing", "candidate_erasure_requested")
    def on_candidate_erasure_requested(self, payload: CandidateErasureRequested, envelope):
        self.erase_candidate_data(payload, envelope,
                                  lambda uow: uow.store.anonymise(payload.application_ids, uow.session))

    @rpc
    def export_candidate(self, candidate_id: str, application_ids: list[str]) -> dict:
        """Right of access: interviews with every scorecard, decisions and approval steps."""
        self.bus.caller.require_role("admin")
        ids = id_list(application_ids)
        interviews = [_interview_view(doc, self.store.scorecards(doc["_id"]), None)
                      for doc in self.store.interviews_for(ids)]
        decisions = [_decision_view(doc, [_step_from_doc(s) for s in self.store.approvals(doc["_id"])])
                     for doc in self.store.decisions_for(ids)]
        return {"interviews": interviews, "decisions": decisions}

    # -- interviews --------------------------------------------------------------------------------
    @rpc
    def schedule_interview(self, application_id: str, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("recruiter", "hr", "admin")
        cmd = parse(NewInterview, data)
        existing = self.store.interview_for_application(application_id)
        if existing is not None and caller.can_see(existing["division"]):
            raise Conflict(f"application {application_id} already has interview {existing['_id']}",
                           code="already_scheduled")
        application = self._application(application_id)
        division = application["division"]
        if not caller.can_see(division):
            raise NotFound(f"no application {application_id}")
        if application["status"] != "shortlisted":
            raise Conflict(f"application is {application['status']}; only a shortlisted application can be "
                           f"scheduled for an interview", code="invalid_status")
        now = _now()
        doc = {
            "_id": new_id("int"),
            "application_id": application_id,
            "division": division,
            "requisition_id": application.get("requisition_id"),
            "candidate_id": application.get("candidate_id"),
            "tier": application.get("tier"),
            "interviewers": cmd.interviewers,
            "competencies": cmd.competencies,
            "scheduled_at": _ms(parse_time(cmd.scheduled_at)),
            "status": domain.SCHEDULED,
            "submitted": [],
            "scheduled_by": caller.name,
            "created_at": now,
            "completed_at": None,
        }

        def work(uow):
            _refuse_if_erased(uow, application_id, doc["candidate_id"])
            try:
                uow.store.insert_interview(doc, uow.session)
            except DuplicateKeyError:
                raise Conflict(f"application {application_id} already has an interview",
                               code="already_scheduled") from None
            uow.emit("interview_scheduled", InterviewScheduled(
                interview_id=doc["_id"], application_id=application_id, division=division,
                interviewers=doc["interviewers"], competencies=doc["competencies"],
                scheduled_at=doc["scheduled_at"]))

        self.bus.transact(work)
        return _interview_view(doc, [], None)

    @rpc
    def list_interviews(self, interviewer: str | None = None, status: str | None = None,
                        application_id: str | None = None, limit: int = 50, cursor: str | None = None) -> dict:
        """GET /v1/interviews: an interviewer's key lists the interviews it sits on; staff list their
        divisions' interviews, optionally one interviewer's. Scorecards are not included (see get_interview)."""
        caller = self.bus.caller
        if status is not None and status not in (domain.SCHEDULED, domain.COMPLETE):
            raise Invalid(f"status: must be {domain.SCHEDULED} or {domain.COMPLETE}", field="status")
        if caller.role == "interviewer":
            if interviewer not in (None, caller.name):
                raise Forbidden("an interviewer key lists only its own interviews")
            interviewer = caller.name
        docs, next_cursor = self.store.list_interviews(caller.division_filter(), interviewer, status, application_id,
                                                       max(1, min(int(limit), 500)), cursor)
        items = [{**{k: v for k, v in _interview_view(d, [], None).items() if k not in ("scorecards", "summary")},
                  "requisition_id": d.get("requisition_id"), "submitted": d.get("submitted", [])} for d in docs]
        return {"items": items, "next_cursor": next_cursor}

    @rpc
    def get_interview(self, interview_id: str) -> dict:
        caller = self.bus.caller
        doc = self._visible_interview(interview_id)
        cards = self.store.scorecards(interview_id)
        visible, show_summary = domain.visible_scorecards(caller.role, caller.name, cards)
        summary = domain.summarize(cards, doc["competencies"]) if show_summary else None
        return _interview_view(doc, visible, summary)

    @rpc
    def submit_scorecard(self, interview_id: str, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("interviewer", "recruiter", "hr", "admin")
        cmd = parse(ScorecardIn, data)
        interview = self.store.get_interview(interview_id)
        if interview is None or not caller.can_see(interview["division"]):
            raise NotFound(f"no interview {interview_id}")
        ratings = domain.validate_scorecard(interview, caller.role, caller.name, cmd.interviewer, cmd.ratings)
        duplicate = Conflict(f"{cmd.interviewer} already submitted a scorecard for this interview",
                             code="duplicate_scorecard")
        if cmd.interviewer in interview.get("submitted", []):
            raise duplicate

        def work(uow):
            _refuse_if_erased(uow, interview["application_id"], interview.get("candidate_id"))
            now = _now()
            updated = uow.store.mark_submitted(interview_id, cmd.interviewer, uow.session)
            if updated is None:
                raise duplicate
            card = {
                "_id": new_id("scd"),
                "interview_id": interview_id,
                "application_id": interview["application_id"],
                "division": interview["division"],
                "interviewer": cmd.interviewer,
                "ratings": ratings,
                "recommendation": cmd.recommendation,
                "highlights": cmd.highlights,
                "notes": cmd.notes,
                "submitted_by": caller.name,
                "submitted_at": now,
            }
            try:
                uow.store.insert_scorecard(card, uow.session)
            except DuplicateKeyError:
                raise duplicate from None
            uow.emit("scorecard_submitted", ScorecardSubmitted(
                interview_id=interview_id, application_id=interview["application_id"],
                division=interview["division"], interviewer=cmd.interviewer, ratings=ratings,
                recommendation=cmd.recommendation, submitted_at=now))
            status = updated["status"]
            if status == domain.SCHEDULED and domain.panel_complete(updated["interviewers"], updated["submitted"]):
                status = domain.COMPLETE
                uow.store.complete_interview(interview_id, now, uow.session)
                cards = uow.store.scorecards(interview_id, uow.session)
                summary = domain.summarize(cards, updated["competencies"])
                uow.emit("interview_completed", InterviewCompleted(
                    application_id=interview["application_id"], division=interview["division"],
                    summary=InterviewSummary(interview_id=interview_id, **summary,
                                             highlights=domain.merge_highlights(cards), completed_at=now)))
            return card, status

        card, status = self.bus.transact(work)
        return {"id": card["_id"], "interview_id": interview_id, **_card_view(card), "interview_status": status}

    # -- reports -----------------------------------------------------------------------------------
    @rpc
    def interviewer_report(self, division: str | None = None, start: str | None = None,
                           end: str | None = None) -> dict:
        """GET /v1/reports/interviewers: per interviewer, over scorecards submitted in [from, to)."""
        scope = report_scope(self.bus.caller, division, start, end)
        cards = self.store.report_scorecards(scope.divisions, scope.time_query())
        interviews, interview_cards = self.store.interviews_with_cards(sorted({c["interview_id"] for c in cards}))
        return {**scope.echo(), "items": domain.interviewer_report(cards, interviews, interview_cards)}

    # -- decisions ---------------------------------------------------------------------------------
    @rpc
    def decide(self, application_id: str, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("hr", "admin")
        cmd = parse(DecisionIn, data)
        already = Conflict(f"application {application_id} was already decided", code="already_decided")
        existing = self.store.get_decision(application_id)
        if existing is not None:
            if not caller.can_see(existing["division"]):
                raise NotFound(f"no application {application_id}")
            raise already
        application = self._application(application_id)
        division, tier = application["division"], application.get("tier", "")
        if not caller.can_see(division):
            raise NotFound(f"no application {application_id}")
        if application["status"] != "interviewed":
            raise Conflict(f"application is {application['status']}; a decision needs an interviewed "
                           f"application", code="invalid_status")
        next_status = domain.next_status(cmd.outcome, tier)
        sla = self._approval_sla(division) if next_status == "awaiting_approval" else 0

        def work(uow):
            _refuse_if_erased(uow, application_id, application.get("candidate_id"))
            now = _now()
            doc = {
                "_id": application_id,
                "division": division,
                "tier": tier,
                "requisition_id": application.get("requisition_id"),
                "outcome": cmd.outcome,
                "note": cmd.note,
                "decided_by": caller.name,
                "decided_at": now,
                "next_status": next_status,
            }
            try:
                uow.store.insert_decision(doc, uow.session)
            except DuplicateKeyError:
                raise already from None
            steps = []
            if next_status == "awaiting_approval":
                steps = domain.approval_steps([new_id("apr"), new_id("apr")], now, sla)
                uow.store.insert_approvals(
                    [{"_id": s["id"], "application_id": application_id, "division": division,
                      **{k: v for k, v in s.items() if k != "id"}} for s in steps],
                    uow.session)
            uow.emit("decision_recorded", DecisionRecorded(
                application_id=application_id, division=division, tier=tier, next_status=next_status,
                decision=DecisionInfo(outcome=cmd.outcome, note=cmd.note, decided_by=caller.name, decided_at=now)))
            if steps:
                uow.emit("approvals_requested", ApprovalsRequested(
                    application_id=application_id, division=division, steps=[ApprovalStep(**s) for s in steps]))
            return doc, steps

        doc, steps = self.bus.transact(work)
        return _decision_view(doc, steps)

    @rpc
    def list_approvals(self, application_id: str) -> list[dict]:
        caller = self.bus.caller
        caller.require_role("recruiter", "hr", "admin")
        docs = self.store.approvals(application_id)
        division = docs[0]["division"] if docs else self.store.known_division(application_id)
        if division is None:
            # Nothing here: sourcing says whether the application exists for this caller.
            division = self._application(application_id)["division"]
        if not caller.can_see(division):
            raise NotFound(f"no application {application_id}")
        return [_step_view(_step_from_doc(d)) for d in docs]

    @rpc
    def approval_queue(self, division: str | None = None) -> dict:
        """GET /v1/approvals: the steps waiting for a decision now in the caller's divisions, overdue first."""
        caller = self.bus.caller
        caller.require_role("hr", "admin")
        divisions = caller.division_filter()
        if division is not None:
            if not caller.can_see(division):
                return {"items": []}
            divisions = [division]
        chains = {app_id: [{**_step_from_doc(d), "application_id": app_id, "division": d["division"]} for d in docs]
                  for app_id, docs in self.store.open_chains(divisions).items()}
        return {"items": [_step_view(s) for s in domain.approval_queue(chains, caller.role, _now())]}

    @rpc
    def decide_approval(self, approval_id: str, data: dict) -> dict:
        caller = self.bus.caller
        cmd = parse(ApprovalDecisionIn, data)
        doc = self.store.get_approval(approval_id)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"no approval step {approval_id}")
        application_id, division = doc["application_id"], doc["division"]
        # Fail fast (role, order, already decided) before asking notification for the SLA.
        chain = [_step_from_doc(d) for d in self.store.approvals(application_id)]
        domain.check_approval(chain, approval_id, caller.role)
        # Only approving a step with a successor re-bases an expectation, so only then is the SLA needed.
        rebases = cmd.decision == "approve" and any(s["step"] > doc["step"] for s in chain)
        sla = self._approval_sla(division) if rebases else 0

        def work(uow):
            _refuse_if_erased(uow, application_id, None)
            before = [_step_from_doc(d) for d in uow.store.approvals(application_id, uow.session)]
            result = domain.decide_approval(before, approval_id, caller.role, caller.name, cmd.decision, cmd.note,
                                            _now(), sla)
            if not uow.store.update_pending_approval(result["step"], uow.session):
                raise Conflict("this approval step was decided meanwhile", code="already_decided")
            old = {s["id"]: s for s in before}
            for step in result["steps"]:
                if step["id"] != approval_id and step["expected_by"] != old[step["id"]]["expected_by"]:
                    uow.store.set_expected_by(step["id"], step["expected_by"], uow.session)
            uow.emit("approval_step_decided", ApprovalStepDecided(
                application_id=application_id, division=division, step=ApprovalStep(**result["step"]),
                next_step=ApprovalStep(**result["next_step"]) if result["next_step"] else None,
                chain_status=result["chain_status"]))
            return result

        result = self.bus.transact(work)
        return _step_view(result["step"])
