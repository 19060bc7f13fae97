"""Interviews and scorecards (interview_feedback): scheduled, rescheduled and cancelled by staff, scored by the
panel; the interview kits of requisitions. A panel is checked here first (gateway/panel.py)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic_core import to_jsonable_python

from gateway.audit import Read, personal_fields
from gateway.deps import (
    AnswerRoute,
    CallerOf,
    Cursor,
    IdemKey,
    Limit,
    Rpc,
    StatusQ,
    gw,
    idempotent_answer,
    idempotent_call,
    ok,
)
from gateway.panel import check_panel
from shared.contracts import commands as cmd
from shared.contracts import interview_feedback, sourcing
from shared.contracts.caller import Caller
from shared.contracts.interview_feedback import Interview, InterviewKit, InterviewPage, PanelBrief, ScorecardCreated
from shared.timeutil import parse

# The panel's view of whom it interviews: the application is read for it once the interview is its own.
PANEL = Caller.system("gateway-panel")

router = APIRouter(route_class=AnswerRoute, tags=["interviews"])


@router.post("/v1/applications/{application_id}/interviews", status_code=201, responses=ok(Interview, 201))
async def schedule_interview(request: Request, rpc: Rpc, application_id: str, body: cmd.NewInterview,
                             caller: CallerOf[interview_feedback.ScheduleInterview], idem: IdemKey = None):
    """A time (`starts_at`, or `scheduled_at` as before) or `slots` for the candidate to pick on the portal.
    The panel: known interviewers of the application's division (422 naming `interviewers`); a panel member
    in an overlapping interview: 409 naming `interviewers`, unless `allow_clash`."""
    async def produce():
        application = await rpc(sourcing.GetApplication, caller, request, application_id=application_id)
        panel = await check_panel(request, application.division, body.interviewers)
        result = await rpc(interview_feedback.ScheduleInterview, caller, request, application_id=application_id,
                           panel=panel, **body.model_dump(mode="json"))
        return JSONResponse(status_code=201, content=to_jsonable_python(result))
    return await idempotent_answer(request, caller, idem, body, produce)


@router.get("/v1/interviews", responses=ok(InterviewPage))
async def list_interviews(request: Request, rpc: Rpc, caller: CallerOf[interview_feedback.ListInterviews],
                          interviewer: Annotated[str | None, Query(max_length=80)] = None,
                          status: StatusQ = None,
                          application_id: Annotated[str | None, Query(max_length=100)] = None,
                          limit: Limit = 50, cursor: Cursor = None):
    """Interviews in the caller's divisions; an interviewer's key lists those it sits on (`submitted`
    says whose scorecards are in). Scorecards themselves are read per interview."""
    return await rpc(interview_feedback.ListInterviews, caller, request, interviewer=interviewer,
                     status=status, application_id=application_id, limit=limit, cursor=cursor)


@router.get("/v1/interviews/{interview_id}", responses=ok(Interview))
async def get_interview(request: Request, rpc: Rpc, interview_id: str,
                        caller: CallerOf[interview_feedback.GetInterview]):
    return await rpc(interview_feedback.GetInterview, caller, request, interview_id=interview_id)


def _zone(name: str):
    # The service stores IANA zones only; a name this process's tz database lacks reads as UTC, never a 500.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@router.get("/v1/interviews/{interview_id}/brief", responses=ok(PanelBrief))
async def interview_brief(request: Request, rpc: Rpc, interview_id: str,
                          caller: CallerOf[interview_feedback.GetInterview]):
    """For the panel (and staff): the candidate's name, the role, the time in the interview's zone, the place
    and the kit. An interviewer reads it only for an interview it sits on; the name read is audited."""
    interview = await rpc(interview_feedback.GetInterview, caller, request, interview_id=interview_id)
    app = await rpc(sourcing.GetApplication, PANEL, request, application_id=interview.application_id)
    await gw(request).audit.record(request, caller, [
        Read(app.candidate_id, app.division, personal_fields("application", {"candidate_name": app.candidate_name}))])
    local = None
    if interview.starts_at:
        local = parse(interview.starts_at).astimezone(_zone(interview.timezone)).isoformat()
    return PanelBrief(interview_id=interview.id, candidate_name=app.candidate_name,
                      requisition_title=app.requisition_title, status=interview.status, starts_at=interview.starts_at,
                      ends_at=interview.ends_at, timezone=interview.timezone, local_start=local,
                      format=interview.format, location=interview.location, meeting_url=interview.meeting_url,
                      kit=interview.kit)


@router.post("/v1/interviews/{interview_id}/scorecards", status_code=201, responses=ok(ScorecardCreated, 201))
async def submit_scorecard(request: Request, rpc: Rpc, interview_id: str, body: cmd.ScorecardIn,
                           caller: CallerOf[interview_feedback.SubmitScorecard], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 201, interview_feedback.SubmitScorecard,
                                 interview_id=interview_id, **body.model_dump(mode="json"))


@router.patch("/v1/interviews/{interview_id}", responses=ok(Interview))
async def patch_interview(request: Request, rpc: Rpc, interview_id: str, body: cmd.InterviewPatch,
                          caller: CallerOf[interview_feedback.PatchInterview]):
    """Reschedule, move, re-link or re-staff an interview; `sequence` is raised by every change (the candidate
    and the panel get an updated invitation)."""
    panel = {}
    if body.interviewers is not None:
        interview = await rpc(interview_feedback.GetInterview, caller, request, interview_id=interview_id)
        panel = {"panel": await check_panel(request, interview.division, body.interviewers)}
    return await rpc(interview_feedback.PatchInterview, caller, request, interview_id=interview_id,
                     allow_clash=body.allow_clash, **body.changes(), **panel)


@router.post("/v1/interviews/{interview_id}/cancel", responses=ok(Interview))
async def cancel_interview(request: Request, rpc: Rpc, interview_id: str, body: cmd.InterviewCancelIn,
                           caller: CallerOf[interview_feedback.CancelInterview], idem: IdemKey = None):
    """Call the interview off (the application goes back to `shortlisted`)."""
    return await idempotent_call(request, rpc, caller, idem, body, 200, interview_feedback.CancelInterview,
                                 interview_id=interview_id, **body.model_dump(mode="json"))


@router.post("/v1/interviews/{interview_id}/attendance", responses=ok(Interview))
async def record_attendance(request: Request, rpc: Rpc, interview_id: str, body: cmd.AttendanceIn,
                            caller: CallerOf[interview_feedback.RecordAttendance], idem: IdemKey = None):
    """Whether the candidate came, once the interview has started (409 before)."""
    return await idempotent_call(request, rpc, caller, idem, body, 200, interview_feedback.RecordAttendance,
                                 interview_id=interview_id, **body.model_dump(mode="json"))


@router.get("/v1/requisitions/{requisition_id}/kit", responses=ok(InterviewKit))
async def get_kit(request: Request, rpc: Rpc, requisition_id: str, caller: CallerOf[interview_feedback.GetKit]):
    return await rpc(interview_feedback.GetKit, caller, request, requisition_id=requisition_id)


@router.put("/v1/requisitions/{requisition_id}/kit", responses=ok(InterviewKit))
async def put_kit(request: Request, rpc: Rpc, requisition_id: str, body: cmd.InterviewKitIn,
                  caller: CallerOf[interview_feedback.PutKit]):
    """The requisition's interview kit: questions and guidance per competency, shown to the panel."""
    return await rpc(interview_feedback.PutKit, caller, request, requisition_id=requisition_id,
                     **body.model_dump(mode="json"))
