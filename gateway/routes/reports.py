"""Reports over a period, for staff: each is computed by the service that owns its data."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from gateway.deps import FINDS_BY_BODY, AnswerRoute, CallerOf, DivisionQ, FromQ, Rpc, ToQ, ok
from shared.contracts import interview_feedback, notification, sourcing, talent_pool
from shared.contracts.interview_feedback import InterviewersReport
from shared.contracts.notification import NotificationTimingReport
from shared.contracts.sourcing import FunnelReport, SourcesReport, TimeToHireReport
from shared.contracts.talent_pool import TalentPoolReport

router = APIRouter(route_class=AnswerRoute, tags=["reports"])


@router.get("/v1/reports/notification-timing", responses=ok(NotificationTimingReport), openapi_extra=FINDS_BY_BODY)
async def notification_timing(request: Request, rpc: Rpc, caller: CallerOf[notification.TimingReport],
                              division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
    """Per result kind, tier and timing mode: notices, median delay from decision to notice, acceptance
    and no-show rates, average survey score; over decisions in [from, to)."""
    return await rpc(notification.TimingReport, caller, request, division=division, start=start, end=end)


@router.get("/v1/reports/overdue-scorecards", responses=ok(notification.OverdueScorecards))
async def overdue_scorecards(request: Request, rpc: Rpc, caller: CallerOf[notification.OverdueScorecardList],
                             division: DivisionQ = None):
    """Held interviews whose panel still owes scorecards past the division's `scorecard_reminder_after`, with
    the names missing (the interviews issue; each of them was reminded by email when their key has one)."""
    return await rpc(notification.OverdueScorecardList, caller, request, division=division)


@router.get("/v1/reports/funnel", responses=ok(FunnelReport), openapi_extra=FINDS_BY_BODY)
async def funnel_report(request: Request, rpc: Rpc, caller: CallerOf[sourcing.FunnelReportRpc],
                        division: DivisionQ = None, requisition_id: Annotated[str | None, Query(max_length=100)] = None,
                        group_by: Annotated[Literal["division", "requisition"], Query()] = "division",
                        start: FromQ = None, end: ToQ = None):
    """Per division or requisition: how many applications reached each status, the conversion and drop-off
    from the stage before, the median time in each stage, and the exits; over applications received in
    [from, to)."""
    return await rpc(sourcing.FunnelReportRpc, caller, request, division=division, requisition_id=requisition_id,
                     group_by=group_by, start=start, end=end)


@router.get("/v1/reports/time-to-hire", responses=ok(TimeToHireReport), openapi_extra=FINDS_BY_BODY)
async def time_to_hire_report(request: Request, rpc: Rpc, caller: CallerOf[sourcing.TimeToHireReportRpc],
                              division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
    """Per division and tier: median and p90 (nearest rank) days from application to offer and to hire."""
    return await rpc(sourcing.TimeToHireReportRpc, caller, request, division=division, start=start, end=end)


@router.get("/v1/reports/sources", responses=ok(SourcesReport), openapi_extra=FINDS_BY_BODY)
async def sources_report(request: Request, rpc: Rpc, caller: CallerOf[sourcing.SourcesReportRpc],
                         division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
    """Per source channel: applications, shortlisted, interviewed, offers, hires and their rates."""
    return await rpc(sourcing.SourcesReportRpc, caller, request, division=division, start=start, end=end)


@router.get("/v1/reports/interviewers", responses=ok(InterviewersReport), openapi_extra=FINDS_BY_BODY)
async def interviewers_report(request: Request, rpc: Rpc, caller: CallerOf[interview_feedback.InterviewerReport],
                              division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
    """Per interviewer, over scorecards submitted in [from, to): scorecards, mean rating, leniency z-score,
    scorecards in flagged discrepancies, median submission delay."""
    return await rpc(interview_feedback.InterviewerReport, caller, request, division=division, start=start,
                     end=end)


@router.get("/v1/reports/talent-pool", responses=ok(TalentPoolReport), openapi_extra=FINDS_BY_BODY)
async def talent_pool_report(request: Request, rpc: Rpc, caller: CallerOf[talent_pool.PoolReport],
                             division: DivisionQ = None, start: FromQ = None, end: ToQ = None):
    """Pool size, pooled, re-surfaced, re-engaged and accepted, and the days from an urgent requisition's
    opening to each offer, fast-tracked vs new candidates."""
    return await rpc(talent_pool.PoolReport, caller, request, division=division, start=start, end=end)
