"""The interview_feedback service shell: interviews, scorecards, decisions and approval chains.

It keeps its own copy of application statuses (shared/status_projection.py, fed by sourcing's
`application_status_changed`: status, division, tier), which scheduling and deciding check against the
preconditions of shared/contracts/status.py, asks notification for the division's approval SLA and sourcing for
the division's record (time zone, meeting link template) and a kit's requisition. Rules live in domain.py;
its RPCs (arguments, answers, roles) are declared in shared/contracts/interview_feedback.py.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from services.interview_feedback import domain
from services.interview_feedback.store import InterviewFeedbackStore
from shared.bus.callers import CallerRpc
from shared.bus.nameko_ext import ServiceBase, Store, event_handler, implements
from shared.bus.remote import call, call_or_none
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
    InterviewAttendanceRecorded,
    InterviewCancelled,
    InterviewCompleted,
    InterviewDetails,
    InterviewOtherTimesRequested,
    InterviewScheduled,
    InterviewSlotsOffered,
    InterviewSummary,
    InterviewUpdated,
    PanelContact,
    ScorecardSubmitted,
)
from shared.contracts.notification import GetPolicy
from shared.contracts.sourcing import GetDivision, GetRequisition
from shared.contracts.status import DECIDE, DECIDE_FAIL, SCHEDULE_AFTER_CANCEL, SCHEDULE_INTERVIEW, Precondition
from shared.crypto import seal
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.ids import new_id
from shared.policy import POLICY_TIMEOUT, policy_seconds
from shared.reports import report_scope
from shared.status_projection import WAIT_SECONDS, for_command
from shared.timeutil import iso, utcnow
from shared.timeutil import parse as parse_time

log = logging.getLogger("hireloop.interview_feedback")
SOURCING_TIMEOUT = 5.0  # seconds for sourcing's answer (a division's record, a kit's requisition)



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


def _dated(record: dict | None, *times: str) -> dict | None:
    return None if not record else {**record, **{t: iso(record.get(t)) for t in times}}


def _interview_fields(doc: dict) -> dict:
    """What an interview shows, listed or read alone (interviews from before the interviews issue read with
    its defaults: an hour, UTC, video, sequence 0)."""
    return {
        "id": doc["_id"],
        "application_id": doc["application_id"],
        "division": doc["division"],
        "status": doc["status"],
        "interviewers": doc["interviewers"],
        "competencies": doc["competencies"],
        "scheduled_at": iso(doc.get("scheduled_at")),
        "starts_at": iso(doc.get("scheduled_at")),
        "ends_at": iso(domain.ends_at(doc)),
        "duration_minutes": doc.get("duration_minutes") or 60,
        "timezone": doc.get("timezone") or "UTC",
        "format": doc.get("format") or "video",
        "location": doc.get("location"),
        "meeting_url": doc.get("meeting_url"),
        "instructions": doc.get("instructions"),
        "slots": [iso(s) for s in doc.get("slots") or []],
        "sequence": doc.get("sequence", 0),
        "attendance": _dated(doc.get("attendance"), "recorded_at"),
        "cancellation": _dated(doc.get("cancellation"), "cancelled_at"),
        "other_times_requested": [_dated(r, "requested_at") for r in doc.get("other_times_requested") or []],
        "created_at": iso(doc["created_at"]),
        "completed_at": iso(doc.get("completed_at")),
    }


def _interview(doc: dict, cards: list[dict], summary: dict | None, clashes: list[dict] | None = None,
               kit: dict | None = None) -> contract.Interview:
    return contract.Interview(**_interview_fields(doc), requisition_id=doc.get("requisition_id"),
                              clashes=clashes or [], kit=_kit_view(kit) if kit else None,
                              scorecards=[_card_fields(c) for c in cards], summary=summary)


def _kit_view(kit: dict) -> contract.InterviewKit:
    return contract.InterviewKit(requisition_id=kit["_id"], division=kit["division"],
                                 competencies=kit["competencies"], updated_by=kit.get("updated_by"),
                                 updated_at=iso(kit.get("updated_at")))


def _panel(doc: dict) -> list[PanelContact]:
    """The panel with its addresses, sealed for the bus; an interview from before addresses has none."""
    emails = {m["name"]: m.get("email") for m in doc.get("panel") or []}
    return [PanelContact(name=n, email=seal(emails.get(n))) for n in doc["interviewers"]]


def _panel_doc(members) -> list[dict]:
    return [{"name": m.name, "email": str(m.email) if m.email else None} for m in members]


def _details(doc: dict) -> InterviewDetails:
    """The interview on its events: what notification needs for invitations, updates and reminders."""
    return InterviewDetails(panel=_panel(doc),
        interview_id=doc["_id"], application_id=doc["application_id"], requisition_id=doc.get("requisition_id"),
        candidate_id=doc.get("candidate_id"), division=doc["division"], status=doc["status"],
        sequence=doc.get("sequence", 0), interviewers=doc["interviewers"], competencies=doc["competencies"],
        starts_at=doc.get("scheduled_at"), ends_at=domain.ends_at(doc),
        duration_minutes=doc.get("duration_minutes") or 60, timezone=doc.get("timezone") or "UTC",
        format=doc.get("format") or "video", location=doc.get("location"), meeting_url=doc.get("meeting_url"),
        instructions=doc.get("instructions"), slots=doc.get("slots") or [])


def _candidate_view(doc: dict, slots: list[datetime]) -> contract.CandidateInterview:
    fields = _interview_fields(doc)
    return contract.CandidateInterview(
        interview_id=doc["_id"], status=doc["status"], slots=[iso(s) for s in slots],
        other_times_requested=bool(doc.get("other_times_requested")),
        **{k: fields[k] for k in ("starts_at", "ends_at", "duration_minutes", "timezone", "format", "location",
                                  "meeting_url", "instructions")})


def _clash_views(caller, found: list[dict]) -> list[dict]:
    # Another division's interview is not named to a caller who cannot see it.
    return [{"interviewer": c["interviewer"], "starts_at": iso(c["starts_at"]), "ends_at": iso(c["ends_at"]),
             "interview_id": c["interview_id"] if caller.can_see(c.get("division") or "") else None}
            for c in found]


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
    sourcing = CallerRpc("sourcing")
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
    def _division_record(self, division: str) -> dict:
        """The division's time zone and meeting link template; UTC and none when sourcing can't say."""
        answer = call_or_none(self.sourcing, GetDivision, SOURCING_TIMEOUT, division_id=division)
        return {"timezone": getattr(answer, "timezone", None) or "UTC",
                "meeting_url_template": getattr(answer, "meeting_url_template", None)}

    def _clashes(self, panel: list[str], start: datetime, minutes: int, exclude: str | None = None) -> list[dict]:
        end = start + timedelta(minutes=minutes)
        return domain.clashes(panel, start, minutes, self.store.panel_interviews(panel, start, end), exclude)

    @implements(contract.ScheduleInterview)
    def schedule_interview(self, caller, cmd: contract.ScheduleInterviewArgs) -> contract.Interview:
        application_id = cmd.application_id
        existing = self.store.interview_for_application(application_id)
        if existing is not None and existing.get("live_for") and caller.can_see(existing["division"]):
            raise Conflict(f"application {application_id} already has interview {existing['_id']}",
                           code="already_scheduled")
        # Just after a cancellation here, the status copy may still say interviewing: wait for the move back.
        recancelled = existing is not None and existing["status"] == domain.CANCELLED
        application = self._application(application_id, SCHEDULE_AFTER_CANCEL if recancelled else SCHEDULE_INTERVIEW)
        division = application["division"]
        now = _now()
        interview_id = new_id("int")
        start = _ms(parse_time(cmd.starts_at)) if cmd.starts_at is not None else None
        slots = [_ms(parse_time(s)) for s in domain.future_slots(cmd.slots, now)] if cmd.slots else []
        found: list[dict] = []
        for when in ([start] if start is not None else slots):
            found += self._clashes(cmd.interviewers, when, cmd.duration_minutes)
        if not cmd.allow_clash:
            domain.refuse_clashes(found, "starts_at" if start is not None else "slots")
        record = self._division_record(division)
        doc = {
            "_id": interview_id,
            "application_id": application_id,
            "live_for": application_id,
            "division": division,
            "requisition_id": application.get("requisition_id"),
            "candidate_id": application.get("candidate_id"),
            "tier": application.get("tier"),
            "interviewers": cmd.interviewers,
            "panel": _panel_doc(cmd.panel),
            "competencies": cmd.competencies,
            "scheduled_at": start,
            "slots": slots,
            "duration_minutes": cmd.duration_minutes,
            "timezone": cmd.timezone or record["timezone"],
            "format": cmd.format,
            "location": cmd.location,
            "meeting_url": domain.meeting_url(cmd.format, str(cmd.meeting_url) if cmd.meeting_url else None,
                                              record["meeting_url_template"], interview_id),
            "instructions": cmd.instructions,
            "allow_clash": cmd.allow_clash,
            "sequence": 0,
            "status": domain.SCHEDULED if start is not None else domain.AWAITING_CANDIDATE,
            "submitted": [],
            "attendance": None,
            "cancellation": None,
            "other_times_requested": [],
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
            self._emit_timed(uow, doc)

        self.bus.transact(work)
        return _interview(doc, [], None, _clash_views(caller, found))

    @staticmethod
    def _emit_timed(uow, doc: dict) -> None:
        """interview_scheduled once the interview has a time; interview_slots_offered while the candidate picks."""
        if doc["status"] == domain.AWAITING_CANDIDATE:
            uow.emit("interview_slots_offered", InterviewSlotsOffered(
                interview_id=doc["_id"], application_id=doc["application_id"], division=doc["division"],
                interview=_details(doc)))
            return
        uow.emit("interview_scheduled", InterviewScheduled(
            interview_id=doc["_id"], application_id=doc["application_id"], division=doc["division"],
            interviewers=doc["interviewers"], competencies=doc["competencies"], scheduled_at=doc["scheduled_at"],
            interview=_details(doc)))

    def _staff_interview(self, caller, interview_id: str) -> dict:
        doc = self.store.get_interview(interview_id)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"no interview {interview_id}")
        return doc

    def _rewrite(self, before: dict, after: dict, emit) -> None:
        """Write the changed interview if nobody changed it meanwhile (409 otherwise), with its events."""
        def work(uow):
            _refuse_if_erased(uow, before["application_id"], before.get("candidate_id"))
            if not uow.store.replace_interview(before, after, uow.session):
                raise Conflict(f"interview {before['_id']} changed meanwhile; read it again", code="interview_changed")
            emit(uow)

        self.bus.transact(work)

    @implements(contract.PatchInterview)
    def patch_interview(self, caller, cmd: contract.PatchInterviewArgs) -> contract.Interview:
        before = self._staff_interview(caller, cmd.interview_id)
        changes = cmd.changes()
        if "starts_at" in changes:
            changes["starts_at"] = _ms(parse_time(changes["starts_at"]))
        after, changed = domain.patched(before, changes, before.get("submitted", []))
        if "interviewers" in changed and cmd.panel is not None:
            after["panel"] = _panel_doc(cmd.panel)
        if not changed:
            return _interview(after, self.store.scorecards(after["_id"]), None)
        if {"meeting_url", "format"} & set(changed) and after["format"] == "video" and not after.get("meeting_url"):
            template = self._division_record(after["division"])["meeting_url_template"]
            after["meeting_url"] = domain.meeting_url("video", None, template, after["_id"])
        found: list[dict] = []
        if after.get("scheduled_at") is not None and {"starts_at", "duration_minutes", "interviewers"} & set(changed):
            found = self._clashes(after["interviewers"], after["scheduled_at"], after["duration_minutes"] or 60,
                                  exclude=after["_id"])
            if not cmd.allow_clash:
                domain.refuse_clashes(found, "starts_at")
        now = _now()
        after["updated_at"] = now

        def emit(uow):
            if before["status"] == domain.AWAITING_CANDIDATE and after["status"] == domain.SCHEDULED:
                self._emit_timed(uow, after)  # a time given instead of the slots: the first invitation
                return
            uow.emit("interview_updated", InterviewUpdated(
                interview_id=after["_id"], application_id=after["application_id"], division=after["division"],
                changed=changed, previous_interviewers=before["interviewers"],
                previous_starts_at=before.get("scheduled_at"), updated_by=caller.name, updated_at=now,
                interview=_details(after)))

        self._rewrite(before, after, emit)
        return _interview(after, self.store.scorecards(after["_id"]), None, _clash_views(caller, found))

    def _cancel_in(self, uow, doc: dict, reason: str, by: str, now: datetime, by_rejection: bool) -> dict:
        after = domain.cancelled(doc, reason, by, now, by_rejection)
        if not uow.store.replace_interview(doc, after, uow.session):
            raise Conflict(f"interview {doc['_id']} changed meanwhile; read it again", code="interview_changed")
        uow.emit("interview_cancelled", InterviewCancelled(
            interview_id=doc["_id"], application_id=doc["application_id"], division=doc["division"], reason=reason,
            by_rejection=by_rejection, cancelled_by=by, cancelled_at=now, interview=_details(after)))
        return after

    @implements(contract.CancelInterview)
    def cancel_interview(self, caller, cmd: contract.CancelInterviewArgs) -> contract.Interview:
        before = self._staff_interview(caller, cmd.interview_id)
        domain.check_open(before, "cancelled")
        now = _now()

        def work(uow):
            _refuse_if_erased(uow, before["application_id"], before.get("candidate_id"))
            return self._cancel_in(uow, before, cmd.reason, caller.name, now, False)

        after = self.bus.transact(work)
        return _interview(after, self.store.scorecards(after["_id"]), None)

    @implements(contract.RecordAttendance)
    def record_attendance(self, caller, cmd: contract.AttendanceArgs) -> contract.Interview:
        before = self._staff_interview(caller, cmd.interview_id)
        now = _now()
        after = domain.with_attendance(before, cmd.candidate, caller.name, now)
        self._rewrite(before, after, lambda uow: uow.emit("interview_attendance_recorded", InterviewAttendanceRecorded(
            interview_id=after["_id"], application_id=after["application_id"], division=after["division"],
            candidate=cmd.candidate, recorded_by=caller.name, recorded_at=now, interview=_details(after))))
        return _interview(after, self.store.scorecards(after["_id"]), None)

    # -- the candidate's side (the portal, as the system, after it checked the candidate's token) ------------
    def _candidate_slots(self, doc: dict) -> list[datetime]:
        minutes = doc.get("duration_minutes") or 60
        return [s for s in doc.get("slots") or [] if not self._clashes(doc["interviewers"], s, minutes, doc["_id"])]

    @implements(contract.CandidateInterviewOf)
    def candidate_interview(self, caller, args: contract.ApplicationArgs) -> contract.CandidateInterview | None:
        doc = self.store.interview_for_application(args.application_id)
        if doc is None or doc["status"] == domain.CANCELLED:
            return None
        return _candidate_view(doc, self._candidate_slots(doc))

    def _awaiting(self, application_id: str) -> dict:
        doc = self.store.interview_for_application(application_id)
        if doc is None or doc["status"] == domain.CANCELLED:
            raise NotFound("there is no interview to schedule for this application", code="no_interview")
        return doc

    @implements(contract.PickSlot)
    def pick_slot(self, caller, cmd: contract.PickSlotArgs) -> contract.CandidateInterview:
        before = self._awaiting(cmd.application_id)
        after = domain.picked(before, _ms(parse_time(cmd.starts_at)), _now())
        if self._clashes(after["interviewers"], after["scheduled_at"], after.get("duration_minutes") or 60,
                         after["_id"]) and not before.get("allow_clash"):
            raise Conflict("starts_at: this time was taken meanwhile; pick another", code="slot_unavailable",
                           field="starts_at")
        self._rewrite(before, after, lambda uow: self._emit_timed(uow, after))
        return _candidate_view(after, [])

    @implements(contract.RequestOtherTimes)
    def request_other_times(self, caller, cmd: contract.OtherTimesArgs) -> contract.CandidateInterview:
        before = self._awaiting(cmd.application_id)
        now = _now()
        after = domain.with_times_request(before, cmd.note, now)
        asked = InterviewOtherTimesRequested(
            interview_id=after["_id"], application_id=after["application_id"], division=after["division"],
            note=cmd.note, requested_at=now, interview=_details(after))
        self._rewrite(before, after, lambda uow: uow.emit("interview_other_times_requested", asked))
        return _candidate_view(after, self._candidate_slots(after))

    # -- interview kits ------------------------------------------------------------------------------
    @implements(contract.GetKit)
    def get_kit(self, caller, args: contract.KitArgs) -> contract.InterviewKit:
        kit = self.store.get_kit(args.requisition_id)
        if kit is None:
            # No kit yet: an empty one, if the requisition is the caller's to see (sourcing says).
            requisition = call(self.sourcing, GetRequisition, SOURCING_TIMEOUT, requisition_id=args.requisition_id)
            return contract.InterviewKit(requisition_id=args.requisition_id, division=requisition.division,
                                         competencies={}, updated_by=None, updated_at=None)
        if not caller.can_see(kit["division"]):
            raise NotFound(f"no requisition {args.requisition_id}")
        return _kit_view(kit)

    @implements(contract.PutKit)
    def put_kit(self, caller, cmd: contract.PutKitArgs) -> contract.InterviewKit:
        # sourcing answers with the caller's scope: another division's requisition is NotFound there too.
        requisition = call(self.sourcing, GetRequisition, SOURCING_TIMEOUT, requisition_id=cmd.requisition_id)
        if not caller.can_see(requisition.division):
            raise NotFound(f"no requisition {cmd.requisition_id}")
        kit = {"_id": cmd.requisition_id, "division": requisition.division,
               "competencies": {name: entry.model_dump() for name, entry in cmd.competencies.items()},
               "updated_by": caller.name, "updated_at": _now()}
        self.store.put_kit(kit)
        return _kit_view(kit)

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
        found = []
        if doc.get("allow_clash") and doc["status"] == domain.SCHEDULED:
            found = self._clashes(doc["interviewers"], doc["scheduled_at"], doc.get("duration_minutes") or 60,
                                  doc["_id"])
        kit = self.store.get_kit(doc["requisition_id"]) if doc.get("requisition_id") else None
        return _interview(doc, visible, summary, _clash_views(caller, found),
                          domain.kit_for(kit, doc["competencies"]))

    @implements(contract.SubmitScorecard)
    def submit_scorecard(self, caller, cmd: contract.SubmitScorecardArgs) -> contract.ScorecardCreated:
        interview_id = cmd.interview_id
        interview = self.store.get_interview(interview_id)
        if interview is None or not caller.can_see(interview["division"]):
            raise NotFound(f"no interview {interview_id}")
        if interview["status"] in (domain.CANCELLED, domain.AWAITING_CANDIDATE):
            raise Conflict(f"interview {interview_id} is {interview['status']}; it takes no scorecards",
                           code="interview_closed")
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
        if cmd.outcome == "fail":  # at any stage from shortlisted on (the interviews issue)
            application = self._application(application_id, DECIDE_FAIL)
        else:
            application = self._application(
                application_id, DECIDE,
                may_still_move=lambda app: completed_here or app["status"] == AppStatus.received)
        division, tier = application["division"], application.get("tier", "")
        next_status = domain.next_status(cmd.outcome, tier)
        sla = self._approval_sla(division) if next_status == "awaiting_approval" else 0
        if cmd.offer is not None:  # terms with a pass: their dates against the clock in the division's zone
            try:
                cmd.offer.check_dates(_now(), self._division_record(division)["timezone"])
            except Invalid as exc:  # named as the request names it: the terms are the body's `offer`
                raise Invalid(f"offer.{exc}", code=exc.code, field=f"offer.{exc.field}" if exc.field else "offer") \
                    from None

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
            if cmd.outcome == "fail":  # the open interview is called off, with its notice
                live = uow.store.interview_for_application(application_id, uow.session)
                if live is not None and live["status"] in domain.OPEN:
                    self._cancel_in(uow, live, cmd.note or "the application was rejected", caller.name, now, True)
            steps = []
            if next_status == "awaiting_approval":
                steps = domain.approval_steps([new_id("apr"), new_id("apr")], now, sla)
                uow.store.insert_approvals(
                    [{"_id": s["id"], "application_id": application_id, "division": division,
                      **{k: v for k, v in s.items() if k != "id"}} for s in steps],
                    uow.session)
            uow.emit("decision_recorded", DecisionRecorded(
                application_id=application_id, division=division, tier=tier, next_status=next_status,
                decision=DecisionInfo(outcome=cmd.outcome, note=cmd.note, decided_by=caller.name, decided_at=now),
                offer=cmd.offer.model_dump(mode="json") if cmd.offer is not None else None))
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
