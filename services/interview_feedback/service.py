"""The interview_feedback service shell: interviews, scorecards, decisions and approval chains.

It keeps its own copy of application statuses (shared/status_projection.py, fed by sourcing's
`application_status_changed`: status, division, tier), which scheduling and deciding check against the
preconditions of shared/contracts/status.py, and asks notification for the division's approval SLA. Rules
live in domain.py; its RPCs (arguments, answers, roles) are declared in shared/contracts/interview_feedback.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from services.interview_feedback import domain
from services.interview_feedback.store import InterviewFeedbackStore
from shared.bus.callers import CallerRpc
from shared.bus.nameko_ext import ServiceBase, Store, event_handler, implements
from shared.bus.remote import call_or_none
from shared.contracts import interview_feedback as contract
from shared.contracts.common import AppStatus
from shared.contracts.events import (
    ApplicationStatusChanged,
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
from shared.contracts.notification import GetPolicy
from shared.contracts.status import DECIDE, SCHEDULE_INTERVIEW, Precondition
from shared.errors import Conflict, Forbidden, NotFound
from shared.ids import new_id
from shared.policy import POLICY_TIMEOUT, policy_seconds
from shared.reports import report_scope
from shared.status_projection import WAIT_SECONDS, for_command
from shared.timeutil import iso, utcnow
from shared.timeutil import parse as parse_time

log = logging.getLogger("hireloop.interview_feedback")



# ----------------------------------------------------------------------------------------------------
# answers (shared/contracts/interview_feedback.py) from stored documents


def _card_fields(card: dict) -> dict:
    return {
        "interviewer": card["interviewer"],
        "ratings": card["ratings"],
        "recommendation": card["recommendation"],
        "highlights": card.get("highlights", []),
        "notes": card.get("notes", ""),
        "submitted_at": iso(card["submitted_at"]),
    }


def _interview_fields(doc: dict) -> dict:
    """What an interview shows, listed or read alone."""
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
    }


def _interview(doc: dict, cards: list[dict], summary: dict | None) -> contract.Interview:
    return contract.Interview(**_interview_fields(doc), scorecards=[_card_fields(c) for c in cards], summary=summary)


def _listed_interview(doc: dict) -> contract.InterviewListItem:
    return contract.InterviewListItem(**_interview_fields(doc), requisition_id=doc.get("requisition_id"),
                                      submitted=doc.get("submitted", []))


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


def _step_fields(step: dict) -> dict:
    """A domain step (a chain's, or a queue's with its extra fields) with its times as the API shows them."""
    return {**step, "expected_by": iso(step["expected_by"]), "decided_at": iso(step["decided_at"])}


def _decision(doc: dict, steps: list[dict]) -> contract.Decision:
    return contract.Decision(
        application_id=doc["_id"],
        outcome=doc["outcome"],
        next_status=doc["next_status"],
        note=doc.get("note"),
        decided_by=doc.get("decided_by"),
        decided_at=iso(doc["decided_at"]),
        approvals=[_step_fields(s) for s in steps],
    )


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
    notification = CallerRpc("notification")
    status_wait_seconds = WAIT_SECONDS  # how long a command waits for the status copy to catch up

    # -- applications: this service's copy of their status ------------------------------------------------
    def _application(self, application_id: str, pre: Precondition | None = None, may_still_move=None) -> dict:
        """The application as the status copy holds it, for this caller (NotFound when unknown or out of
        scope), once `pre` allows its status (Conflict `invalid_status` otherwise)."""
        return for_command(self.store.projected_application, application_id, self.bus.caller, pre,
                           may_still_move=may_still_move, wait_seconds=self.status_wait_seconds)

    @event_handler("sourcing", "application_status_changed")
    def on_application_status_changed(self, payload: ApplicationStatusChanged, envelope):
        # One conditional upsert, idempotent and ordered by sequence: no transaction, no inbox record.
        self.store.project_status(payload)

    def _approval_sla(self, division: str) -> int:
        """The division's approval SLA in seconds; the policy default when notification can't say."""
        answer = call_or_none(self.notification, GetPolicy, POLICY_TIMEOUT, division=division)
        return policy_seconds(answer, "approval_sla")

    def _visible_interview(self, caller, interview_id: str) -> dict:
        doc = self.store.get_interview(interview_id)
        if (doc is None or not caller.can_see(doc["division"])
                or not domain.on_panel(caller.role, caller.name, doc["interviewers"])):
            raise NotFound(f"no interview {interview_id}")
        return doc

    # -- right of access and erasure -------------------------------------------------------------------
    @event_handler("sourcing", "candidate_erasure_requested")
    def on_candidate_erasure_requested(self, payload: CandidateErasureRequested, envelope):
        self.erase_candidate_data(payload, envelope, lambda uow: {
            **uow.store.anonymise(payload.application_ids, uow.session),
            "statuses": uow.store.mark_statuses_erased(payload.application_ids, uow.session)})

    @implements(contract.ExportCandidate)
    def export_candidate(self, caller, args: contract.ExportArgs) -> contract.InterviewFeedbackExport:
        """Right of access: interviews with every scorecard, decisions and approval steps. The status copy
        holds nothing personal (ids and statuses) and is not part of it."""
        ids = args.application_ids
        interviews = [_interview(doc, self.store.scorecards(doc["_id"]), None)
                      for doc in self.store.interviews_for(ids)]
        decisions = [_decision(doc, [_step_from_doc(s) for s in self.store.approvals(doc["_id"])])
                     for doc in self.store.decisions_for(ids)]
        return contract.InterviewFeedbackExport(interviews=interviews, decisions=decisions)

    # -- interviews --------------------------------------------------------------------------------
    @implements(contract.ScheduleInterview)
    def schedule_interview(self, caller, cmd: contract.ScheduleInterviewArgs) -> contract.Interview:
        application_id = cmd.application_id
        existing = self.store.interview_for_application(application_id)
        if existing is not None and caller.can_see(existing["division"]):
            raise Conflict(f"application {application_id} already has interview {existing['_id']}",
                           code="already_scheduled")
        application = self._application(application_id, SCHEDULE_INTERVIEW)
        division = application["division"]
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
        return _interview(doc, [], None)

    @implements(contract.ListInterviews)
    def list_interviews(self, caller, args: contract.ListInterviewsArgs) -> contract.InterviewPage:
        """GET /v1/interviews: an interviewer's key lists the interviews it sits on; staff list their
        divisions' interviews, optionally one interviewer's. Scorecards are not included (see get_interview)."""
        interviewer = args.interviewer
        if caller.role == "interviewer":
            if interviewer not in (None, caller.name):
                raise Forbidden("an interviewer key lists only its own interviews")
            interviewer = caller.name
        docs, next_cursor = self.store.list_interviews(caller.division_filter(), interviewer, args.status,
                                                       args.application_id, args.limit, args.cursor)
        return contract.InterviewPage(items=[_listed_interview(d) for d in docs], next_cursor=next_cursor)

    @implements(contract.GetInterview)
    def get_interview(self, caller, args: contract.InterviewArgs) -> contract.Interview:
        doc = self._visible_interview(caller, args.interview_id)
        cards = self.store.scorecards(args.interview_id)
        visible, show_summary = domain.visible_scorecards(caller.role, caller.name, cards)
        summary = domain.summarize(cards, doc["competencies"]) if show_summary else None
        return _interview(doc, visible, summary)

    @implements(contract.SubmitScorecard)
    def submit_scorecard(self, caller, cmd: contract.SubmitScorecardArgs) -> contract.ScorecardCreated:
        interview_id = cmd.interview_id
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
        return contract.ScorecardCreated(id=card["_id"], interview_id=interview_id, **_card_fields(card),
                                         interview_status=status)

    # -- reports -----------------------------------------------------------------------------------
    @implements(contract.InterviewerReport)
    def interviewer_report(self, caller, args: contract.ReportArgs) -> contract.InterviewersReport:
        """GET /v1/reports/interviewers: per interviewer, over scorecards submitted in [from, to)."""
        scope = report_scope(caller, args.division, args.start, args.end)
        cards = self.store.report_scorecards(scope.divisions, scope.time_query())
        interviews, interview_cards = self.store.interviews_with_cards(sorted({c["interview_id"] for c in cards}))
        return contract.InterviewersReport(**scope.echo(),
                                           items=domain.interviewer_report(cards, interviews, interview_cards))

    # -- decisions ---------------------------------------------------------------------------------
    @implements(contract.Decide)
    def decide(self, caller, cmd: contract.DecideArgs) -> contract.Decision:
        application_id = cmd.application_id
        already = Conflict(f"application {application_id} was already decided", code="already_decided")
        existing = self.store.get_decision(application_id)
        if existing is not None:
            if not caller.can_see(existing["division"]):
                raise NotFound(f"no application {application_id}")
            raise already
        # `interviewed` comes only from an interview completed here, or with a fast track (which starts at
        # received): without either, a status short of it is refused at once rather than waited for.
        interview = self.store.interview_for_application(application_id)
        completed_here = interview is not None and interview["status"] == domain.COMPLETE
        application = self._application(
            application_id, DECIDE,
            may_still_move=lambda app: completed_here or app["status"] == AppStatus.received)
        division, tier = application["division"], application.get("tier", "")
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
        return _decision(doc, steps)

    @implements(contract.ListApprovals)
    def list_approvals(self, caller, args: contract.ApplicationArgs) -> list[contract.ApprovalStep]:
        application_id = args.application_id
        docs = self.store.approvals(application_id)
        division = docs[0]["division"] if docs else self.store.known_division(application_id)
        if division is None:
            # Nothing recorded here: the status copy says whether the application exists for this caller.
            division = self._application(application_id)["division"]
        if not caller.can_see(division):
            raise NotFound(f"no application {application_id}")
        return [contract.ApprovalStep(**_step_fields(_step_from_doc(d))) for d in docs]

    @implements(contract.GetApprovalQueue)
    def approval_queue(self, caller, args: contract.ApprovalQueueArgs) -> contract.ApprovalQueue:
        """GET /v1/approvals: the steps waiting for a decision now in the caller's divisions, overdue first."""
        divisions = caller.division_filter()
        if args.division is not None:
            if not caller.can_see(args.division):
                return contract.ApprovalQueue(items=[])
            divisions = [args.division]
        chains = {app_id: [{**_step_from_doc(d), "application_id": app_id, "division": d["division"]} for d in docs]
                  for app_id, docs in self.store.open_chains(divisions).items()}
        return contract.ApprovalQueue(items=[_step_fields(s) for s in domain.approval_queue(chains, caller.role,
                                                                                             _now())])

    @implements(contract.DecideApproval)
    def decide_approval(self, caller, cmd: contract.DecideApprovalArgs) -> contract.ApprovalStep:
        approval_id = cmd.approval_id
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
        return contract.ApprovalStep(**_step_fields(result["step"]))
