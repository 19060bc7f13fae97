"""The console's pages and forms. Each reads or writes through the /v1 API (Page.api) and renders a template
of gateway/templates/console/. Roles decide which controls a page offers; the API decides what is allowed."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from gateway.console import board, reports
from gateway.console.api import ApiError
from gateway.templating import SECURITY_HEADERS, local_input
from shared.interview_time import valid_timezone, when_text
from shared.timeutil import parse

if TYPE_CHECKING:
    from gateway.console import Console, Page

POLICY_SECONDS = ["guide_after", "hr_confirm_after", "urgent_confirm_within", "approval_sla", "rejection_delay",
                  "screen_out_rejection_delay", "survey_after", "reuse_interview_within"]
POLICY_TEXT = ["hr_email", "group_hr_email", "reply_to", "hr_webhook_url"]


def q(value: str) -> str:
    return quote(value, safe="")


def _split(text: str) -> list[str]:
    """A comma- or line-separated list typed into one field."""
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def _number(text: str, field: str) -> float:
    """A number typed into a form field, checked as the API checks JSON numbers: finite (no `nan`, `inf` or
    `1e999`), else a 422-style form error naming the field (never a 500). Empty is 0."""
    if not text:
        return 0
    try:
        value = float(text)
    except ValueError:
        raise ApiError(422, "validation_error", f"{field}: must be a number", field) from None
    if not math.isfinite(value):
        raise ApiError(422, "validation_error", f"{field}: must be a finite number", field)
    return value + 0.0  # -0 is 0


def _integer(text: str, field: str, default: int = 0) -> int:
    """A whole number typed into a form field (`3`, `3.0`); anything else is a form error naming the field."""
    if not text:
        return default
    try:
        return int(text)  # exact, however long (up to Python's digit limit; beyond it, not finite below)
    except ValueError:
        pass
    value = _number(text, field)
    if not value.is_integer():
        raise ApiError(422, "validation_error", f"{field}: must be a whole number", field)
    return int(value)


EMPLOYMENT_TYPES = ["full_time", "part_time", "contract", "internship", "temporary"]
SALARY_PERIODS = ["year", "month", "hour"]


def posting_body(page: Page, zone: str = "UTC") -> dict:
    """The posting form as a PATCH: every posting field but `published` (its own switch). An empty closing
    time clears it; salary fields all empty clear the range, any of them given sends it whole (the API then
    names a missing or wrong part)."""
    body: dict = {"description": (page.form or {}).get("description", [""])[0].replace("\r\n", "\n").strip(),
                  "employment_type": page.value("employment_type", "full_time"),
                  "remote": page.value("remote") == "on", "closes_at": _utc(page.value("closes_at"), zone) or None}
    was = page.value("closes_at_was")
    if was and page.value("closes_at") == local_input(was, zone):  # minutes shown: unchanged is the stored time
        body["closes_at"] = was
    salary = {name: page.value(f"salary_{name}") for name in ("min", "max", "currency", "period")}
    if salary["min"] or salary["max"] or salary["currency"]:
        body["salary_range"] = {"min": _number(salary["min"], "salary_range.min"),
                                "max": _number(salary["max"], "salary_range.max"),
                                "currency": salary["currency"].upper(), "period": salary["period"] or "year"}
    else:
        body["salary_range"] = None
    return body


def install(app: FastAPI, console: Console) -> None:  # noqa: C901 - one place lists the console's pages
    show, act = console.show, console.act

    # ------------------------------------------------------------------ requisitions
    @app.get("/console/requisitions", include_in_schema=False)
    async def requisitions(request: Request):
        async def build(page: Page):
            params = {k: request.query_params.get(k) for k in ("status", "urgent", "division", "cursor")}
            listing = await page.api.get("/v1/requisitions", **params)
            return await console.render(page, "requisitions.html", listing=listing, filters=params)
        return await show(request, build)

    @app.post("/console/requisitions", include_in_schema=False)
    async def create_requisition(request: Request):
        async def do(page: Page):
            body = {
                "title": page.value("title"), "division": page.value("division"),
                "department": page.value("department"), "tier": page.value("tier", "basic"),
                "urgent": page.value("urgent") == "on", "required_skills": _split(page.value("required_skills")),
                "skills": _split(page.value("skills")), "min_years": _number(page.value("min_years"), "min_years"),
                "headcount": _integer(page.value("headcount"), "headcount", default=1),
            }
            if page.value("location"):
                body["location"] = page.value("location")
            created = await page.api.post("/v1/requisitions", body, idempotency_key=page.value("nonce") or None)
            return f"Requisition “{created['title']}” opened.", f"/console/requisitions/{q(created['id'])}"
        return await act(request, "/console/requisitions", do)

    @app.get("/console/requisitions/{requisition_id}", include_in_schema=False)
    async def requisition(request: Request, requisition_id: str):
        async def build(page: Page):
            req = await page.api.get(f"/v1/requisitions/{q(requisition_id)}")
            matches = None
            if req["urgent"] or request.query_params.get("matches"):
                matches = await page.api.get(f"/v1/requisitions/{q(requisition_id)}/matches")
            return await console.render(page, "requisition.html", req=req, matches=matches,
                                        employment_types=EMPLOYMENT_TYPES, salary_periods=SALARY_PERIODS)
        return await show(request, build)

    @app.post("/console/requisitions/{requisition_id}/posting", include_in_schema=False)
    async def edit_posting(request: Request, requisition_id: str):
        async def do(page: Page):
            _, zone = await console.preferences(request, page.session)
            await page.api.patch(f"/v1/requisitions/{q(requisition_id)}", posting_body(page, zone),
                                 idempotency_key=page.value("nonce") or None)
            return "Posting saved.", None
        return await act(request, f"/console/requisitions/{q(requisition_id)}", do)

    @app.post("/console/requisitions/{requisition_id}/publish", include_in_schema=False)
    async def publish(request: Request, requisition_id: str):
        async def do(page: Page):
            published = page.value("published") == "true"
            await page.api.patch(f"/v1/requisitions/{q(requisition_id)}", {"published": published},
                                 idempotency_key=page.value("nonce") or None)
            return ("Published on the careers site." if published else "Taken off the careers site."), None
        return await act(request, f"/console/requisitions/{q(requisition_id)}", do)

    @app.post("/console/requisitions/{requisition_id}/close", include_in_schema=False)
    async def close_requisition(request: Request, requisition_id: str):
        async def do(page: Page):
            await page.api.post(f"/v1/requisitions/{q(requisition_id)}/close", {"reason": page.value("reason")})
            return "Requisition closed.", None
        return await act(request, f"/console/requisitions/{q(requisition_id)}", do)

    @app.post("/console/requisitions/{requisition_id}/applications", include_in_schema=False)
    async def add_application(request: Request, requisition_id: str):
        async def do(page: Page):
            candidate = {"name": page.value("name"), "email": page.value("email"),
                         "skills": _split(page.value("skills")),
                         "years_experience": _number(page.value("years_experience"), "candidate.years_experience")}
            if page.value("phone"):
                candidate["phone"] = page.value("phone")
            created = await page.api.post("/v1/applications", {
                "requisition_id": requisition_id, "source": page.value("source", "console"),
                "talent_pool_consent": page.value("talent_pool_consent") == "on", "candidate": candidate,
            }, idempotency_key=page.value("nonce") or None)
            return "Application received; screening runs now.", f"/console/applications/{q(created['id'])}"
        return await act(request, f"/console/requisitions/{q(requisition_id)}", do)

    @app.post("/console/requisitions/{requisition_id}/matches/{candidate_id}/reengage", include_in_schema=False)
    async def reengage(request: Request, requisition_id: str, candidate_id: str):
        async def do(page: Page):
            await page.api.post(f"/v1/requisitions/{q(requisition_id)}/matches/{q(candidate_id)}/reengage")
            return "Re-engagement sent: the candidate gets a message with a link to answer.", None
        return await act(request, f"/console/requisitions/{q(requisition_id)}", do)

    # ------------------------------------------------------------------ the pipeline board
    @app.get("/console/requisitions/{requisition_id}/board", include_in_schema=False)
    async def board_page(request: Request, requisition_id: str):
        """The board (gateway/console/board.py); `fragment=1` its columns (the live refresh), `fragment=cards`
        with `column` and `cursor` one column's next cards ("Show more")."""
        async def build(page: Page):
            params = request.query_params
            filters = board.board_filters(params)
            shown, cursor = params.get("column"), params.get("cursor") or None
            context = {"filters": filters, "query": board.query, "board_path": board_path}
            if params.get("fragment") == "cards" and shown in board.COLUMNS:
                col = await board.column(page, requisition_id, shown, filters, cursor)
                return await console.render(page, "board_cards.html", req={"id": requisition_id}, column=col,
                                            appending=True, **context)
            at = {shown: cursor} if shown in board.COLUMNS and cursor else {}
            req, summary, columns = await board.load(page, requisition_id, filters, at)
            template = "board_columns.html" if params.get("fragment") else "board.html"
            return await console.render(page, template, req=req, summary=summary, columns=columns,
                                        total=summary["total"], sorts=board.SORTS, moves=board.MOVES, **context)
        return await show(request, build)

    def board_path(requisition_id: str, filters: dict | None = None) -> str:
        rest = board.query(filters or {})
        return f"/console/requisitions/{q(requisition_id)}/board" + (f"?{rest}" if rest else "")

    @app.post("/console/requisitions/{requisition_id}/board/bulk", include_in_schema=False)
    async def board_bulk(request: Request, requisition_id: str):
        """A bulk action: first a page that says what will happen to each selected application, then (its
        Confirm button, `confirm=1`) the action, through the API, and back to the board with what was done."""
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        view = parse_qs((form.get("view") or [""])[0])  # the board's filters, to go back to the same view
        filters = board.board_filters({k: v[0] for k, v in view.items() if v})
        back = board_path(requisition_id, filters)

        def chosen(page: Page) -> tuple[str, list[str], dict]:
            action = page.value("action")
            ids = list(dict.fromkeys(page.values("application")))
            options = {"tag": page.value("tag"), "move_to": page.value("move_to"), "reason": page.value("reason")}
            if action not in ("tag", "untag", "reject", "move"):
                raise ApiError(422, "validation_error", "action: choose what to do", "action")
            board.check(action, ids, **options)
            return action, ids, options

        async def steps_for(page: Page, action: str, ids: list[str], options: dict) -> list[board.Step]:
            apps = [{"id": i} for i in ids] if action in ("tag", "untag") else await board.applications(page, ids)
            return board.plan(action, apps, page.session.role, **options)

        if (form.get("confirm") or [""])[0] == "1":
            async def do(page: Page):
                action, ids, options = chosen(page)
                steps = await steps_for(page, action, ids, options)
                done, problems = await board.run(page, action, steps, tag=options["tag"], nonce=page.value("nonce"))
                left = sum(1 for s in steps if not s.doable)
                text = f"Done for {done} of {len(steps)} applications."
                if left:
                    text += f" {left} left as they were (their stage does not allow it)."
                if problems:
                    text += f" Not done for {len(problems)}: " + "; ".join(problems[:3])
                return text, back
            return await act(request, back, do)

        async def review(page: Page):
            action, ids, options = chosen(page)
            steps = await steps_for(page, action, ids, options)
            return await console.render(page, "board_bulk.html", req={"id": requisition_id}, action=action,
                                        steps=steps, options=options, filters=filters, back=back, query=board.query,
                                        doable=sum(1 for s in steps if s.doable), moves=board.MOVES)
        return await console.form_page(request, back, review)

    # ------------------------------------------------------------------ applications
    @app.get("/console/applications/{application_id}", include_in_schema=False)
    async def application(request: Request, application_id: str):
        async def build(page: Page):
            path = f"/v1/applications/{q(application_id)}"
            application = await page.api.get(path)
            notices, approvals, interviews = await asyncio.gather(
                page.api.get(f"{path}/notifications"), page.api.get(f"{path}/approvals"),
                page.api.get("/v1/interviews", application_id=application_id))
            interview = None
            if interviews["items"]:
                interview = await page.api.get(f"/v1/interviews/{q(interviews['items'][0]['id'])}")
            next_step = next((s for s in approvals if s["status"] == "pending"), None)
            # The CV and other files: a panel of their own, shown as unavailable rather than failing the page.
            documents = await page.api.get_or_none(f"{path}/documents")
            offer = application.get("offer") or {}
            # HR is flagged while an unanswered offer has less than a day left (and after, until it is answered).
            try:
                expires_soon = (datetime.fromisoformat(str(offer.get("expires_at")).replace("Z", "+00:00"))
                                - datetime.now(UTC)) < timedelta(days=1)
            except (ValueError, TypeError):
                expires_soon = False
            salary = offer.get("salary") or {}
            amount = salary.get("amount")
            salary_text = (f"{salary.get('currency', '')} {amount:,.0f} per {salary.get('period', '')}"
                           if isinstance(amount, int | float) and float(amount).is_integer() else
                           f"{salary.get('currency', '')} {amount:,.2f} per {salary.get('period', '')}"
                           if isinstance(amount, int | float) else "")
            return await console.render(page, "application.html", app=application, notices=notices,
                                        approvals=approvals, next_step=next_step, interview=interview,
                                        documents=None if documents is None else documents["items"],
                                        expires_soon=expires_soon, salary_text=salary_text)
        return await show(request, build)

    @app.get("/console/documents/{document_id}", include_in_schema=False)
    async def document(request: Request, document_id: str):
        """A file download through the API with the session's key (a browser holds no key to send to
        /v1/documents/{id} itself): scope, audit of the read and all as for an API client."""
        async def build(page: Page):
            found = await page.api.download(f"/v1/documents/{q(document_id)}")
            headers = {**SECURITY_HEADERS, "Content-Disposition": found.headers.get("content-disposition")
                       or "attachment"}
            return Response(found.content, media_type=found.headers.get("content-type", "application/octet-stream"),
                            headers=headers)
        return await show(request, build)

    @app.post("/console/applications/{application_id}/{action}", include_in_schema=False)
    async def application_action(request: Request, application_id: str, action: str):
        path = f"/v1/applications/{q(application_id)}"

        async def do(page: Page):
            note = page.value("note") or None
            if action == "interviews":
                _, zone = await console.preferences(request, page.session)
                await page.api.post(f"{path}/interviews", {
                    "interviewers": _split(page.value("interviewers")),
                    "scheduled_at": _utc(page.value("scheduled_at"), zone),
                    "competencies": _split(page.value("competencies"))})
                return "Interview scheduled.", None
            if action == "decision":
                body = {"outcome": page.value("outcome")} | ({"note": note} if note else {})
                result = await page.api.post(f"{path}/decision", body)
                return f"Decision recorded: {result['next_status'].replace('_', ' ')}.", None
            if action == "confirmation":
                await page.api.post(f"{path}/confirmation", {"result": page.value("result")} | (
                    {"note": note} if note else {}))
                return "Phone confirmation recorded.", None
            if action == "outcome":
                await page.api.post(f"{path}/outcome", {"outcome": page.value("outcome")})
                return "Outcome recorded.", None
            if action == "override":
                await page.api.post(f"{path}/screening/override", {
                    "passed": page.value("passed") == "true", "reason": page.value("reason")})
                return "Screening overridden.", None
            raise ApiError(404, "not_found", f"no such action: {action}")
        return await act(request, f"/console/applications/{q(application_id)}", do)

    # ------------------------------------------------------------------ interviews
    @app.get("/console/interviews", include_in_schema=False)
    async def interviews(request: Request):
        async def build(page: Page):
            listing = await page.api.get("/v1/interviews", status=request.query_params.get("status"),
                                         cursor=request.query_params.get("cursor"))
            return await console.render(page, "interviews.html", listing=listing)
        return await show(request, build)

    @app.get("/console/interviews/{interview_id}", include_in_schema=False)
    async def interview(request: Request, interview_id: str):
        async def build(page: Page):
            found, brief = await asyncio.gather(page.api.get(f"/v1/interviews/{q(interview_id)}"),
                                                page.api.get_or_none(f"/v1/interviews/{q(interview_id)}/brief"))
            submitted = {c["interviewer"] for c in found["scorecards"]}
            if page.session.role == "interviewer":
                # Others' cards stay hidden until mine is in, so the API shows mine only: ask the list.
                listed = await page.api.get("/v1/interviews", application_id=found["application_id"])
                submitted |= {n for i in listed["items"] if i["id"] == interview_id for n in i["submitted"]}
                may_submit = [page.session.name] if page.session.name not in submitted else []
            else:
                may_submit = [n for n in found["interviewers"] if n not in submitted]
            documents = None
            if brief:  # the panel reads the application's files once it sits on it (sourcing decides)
                listed = await page.api.get_or_none(f"/v1/applications/{q(found['application_id'])}/documents")
                documents = sorted((listed or {}).get("items", []), key=lambda d: d["kind"] != "cv")
            return await console.render(page, "interview.html", interview=found, may_submit=may_submit, brief=brief,
                                        when=_interview_when(brief), documents=documents)
        return await show(request, build)

    @app.post("/console/interviews/{interview_id}/scorecards", include_in_schema=False)
    async def scorecard(request: Request, interview_id: str):
        async def do(page: Page):
            found = await page.api.get(f"/v1/interviews/{q(interview_id)}")
            ratings = {}
            for competency in found["competencies"]:
                value = page.value(f"rating:{competency}")
                if value not in ("1", "2", "3", "4", "5"):  # not isdigit(): "²" is a digit int() refuses
                    raise ApiError(422, "validation_error", f"ratings.{competency}: choose a rating from 1 to 5",
                                   f"ratings.{competency}")
                ratings[competency] = int(value)
            await page.api.post(f"/v1/interviews/{q(interview_id)}/scorecards", {
                "interviewer": page.value("interviewer") or page.session.name, "ratings": ratings,
                "recommendation": page.value("recommendation"),
                "highlights": [h.strip() for h in page.value("highlights").splitlines() if h.strip()],
                "notes": page.value("notes")}, idempotency_key=page.value("nonce") or None)
            return "Scorecard submitted.", None
        return await act(request, f"/console/interviews/{q(interview_id)}", do)

    # ------------------------------------------------------------------ search (the header's box)
    @app.get("/console/search", include_in_schema=False)
    async def search(request: Request):
        async def build(page: Page):
            term = (request.query_params.get("q") or "").strip()[:100]
            if not term:
                return _redirect("/console")
            candidates, applications = await asyncio.gather(
                page.api.get("/v1/candidates", q=term, cursor=request.query_params.get("cursor")),
                page.api.get("/v1/applications", q=term, sort="-updated_at"))
            return await console.render(page, "search.html", q=term, search_q=term, candidates=candidates["items"],
                                        candidates_more=candidates["next_cursor"],
                                        applications=applications["items"])
        return await show(request, build)

    # ------------------------------------------------------------------ approvals
    @app.get("/console/approvals", include_in_schema=False)
    async def approvals(request: Request):
        async def build(page: Page):
            queue = (await page.api.get("/v1/approvals", division=request.query_params.get("division")))["items"]
            apps = await asyncio.gather(*(page.api.get_or_none(f"/v1/applications/{q(s['application_id'])}")
                                          for s in queue))
            return await console.render(page, "approvals.html", queue=list(zip(queue, apps, strict=True)))
        return await show(request, build)

    @app.post("/console/approvals/{approval_id}", include_in_schema=False)
    async def decide_approval(request: Request, approval_id: str):
        async def do(page: Page):
            note = page.value("note") or None
            step = await page.api.post(f"/v1/approvals/{q(approval_id)}",
                                       {"decision": page.value("decision")} | ({"note": note} if note else {}))
            return f"Approval step {step['step']} {step['status']}.", None
        return await act(request, page_back(request, "/console/approvals"), do)

    # ------------------------------------------------------------------ notification policies
    @app.get("/console/policies", include_in_schema=False)
    async def policies(request: Request):
        async def build(page: Page):
            division = request.query_params.get("division") or next(iter(page.session.divisions), "")
            if division and division != "*":
                return _redirect(f"/console/policies/{q(division)}")
            return await console.render(page, "policy_pick.html")
        return await show(request, build)

    @app.get("/console/policies/{division}", include_in_schema=False)
    async def policy(request: Request, division: str):
        async def build(page: Page):
            found = await page.api.get(f"/v1/notification-policies/{q(division)}")
            return await console.render(page, "policy.html", division=division, policy=found,
                                        seconds=POLICY_SECONDS, texts=POLICY_TEXT)
        return await show(request, build)

    @app.post("/console/policies/{division}", include_in_schema=False)
    async def put_policy(request: Request, division: str):
        async def do(page: Page):
            body: dict = {"locale": page.value("locale", "en"), "share_evidence": page.value("share_evidence") == "on"}
            for name in POLICY_SECONDS:
                body[name] = _integer(page.value(name), name)
            for name in POLICY_TEXT:
                if page.value(name):
                    body[name] = page.value(name)
            if page.value("hr_webhook_secret"):
                body["hr_webhook_secret"] = page.value("hr_webhook_secret")
            await page.api.put(f"/v1/notification-policies/{q(division)}", body)
            return f"Notification policy of {division} saved.", None
        return await act(request, f"/console/policies/{q(division)}", do)

    # ------------------------------------------------------------------ reports
    @app.get("/console/reports", include_in_schema=False)
    async def reports_page(request: Request):
        async def build(page: Page):
            params = {k: request.query_params.get(k) or None for k in ("division", "from", "to")}
            figures = await reports.gather(page.api, params)
            return await console.render(page, "reports.html", filters=params, charts=reports.charts(figures),
                                        figures=figures)
        return await show(request, build)


def page_back(request: Request, default: str) -> str:
    """Back to the page the form was on (same origin only), else `default`."""
    referer = request.headers.get("referer", "")
    host = request.headers.get("host", "")
    for scheme in ("http://", "https://"):
        prefix = f"{scheme}{host}/console/"
        if host and referer.startswith(prefix):
            return referer[len(scheme) + len(host):]
    return default


def _redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def _utc(value: str, zone: str = "UTC") -> str:
    """A `datetime-local` field (no zone) read in the user's time zone (UTC for a key session), as UTC."""
    if value and len(value) == 16:  # 2026-12-01T09:00
        if zone == "UTC":
            return value + ":00Z"
        try:
            local = datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(zone))
        except ValueError:
            return value  # the API names the field
        return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _interview_when(brief: dict | None) -> str | None:
    """The interview's time in words in its own zone, zone and offset named (console.js adds the viewer's own
    zone beside it); a zone this process lacks reads as UTC."""
    if not brief or not brief.get("starts_at"):
        return None
    start = parse(brief["starts_at"])
    minutes = round((parse(brief["ends_at"]) - start).total_seconds() / 60) if brief.get("ends_at") else 60
    zone = brief.get("timezone")
    return when_text(start, max(minutes, 1), zone if valid_timezone(zone) else "UTC")
