"""Interviews and scorecards (interview_feedback): scheduled by staff, scored by the panel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.deps import (
    AnswerRoute,
    CallerOf,
    Cursor,
    IdemKey,
    Limit,
    Rpc,
    StatusQ,
    idempotent_call,
    ok,
)
from shared.contracts import commands as cmd
from shared.contracts import interview_feedback
from shared.contracts.interview_feedback import Interview, InterviewPage, ScorecardCreated

router = APIRouter(route_class=AnswerRoute, tags=["interviews"])


@router.post("/v1/applications/{application_id}/interviews", status_code=201, responses=ok(Interview, 201))
async def schedule_interview(request: Request, rpc: Rpc, application_id: str, body: cmd.NewInterview,
                             caller: CallerOf[interview_feedback.ScheduleInterview], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 201, interview_feedback.ScheduleInterview,
                                 application_id=application_id, **body.model_dump(mode="json"))


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


@router.post("/v1/interviews/{interview_id}/scorecards", status_code=201, responses=ok(ScorecardCreated, 201))
async def submit_scorecard(request: Request, rpc: Rpc, interview_id: str, body: cmd.ScorecardIn,
                           caller: CallerOf[interview_feedback.SubmitScorecard], idem: IdemKey = None):
    return await idempotent_call(request, rpc, caller, idem, body, 201, interview_feedback.SubmitScorecard,
                                 interview_id=interview_id, **body.model_dump(mode="json"))
