"""The careers site: published roles for anyone, no key (`/careers`, `/careers/jobs/{id}`, the application form,
the XML job feed and the sitemap). HTML for people, in English or Chinese (gateway/careers_text.py); the
rules and formats are in gateway/careers.py. Sourcing answers as it would the system (`Caller.system("careers")`),
and shows only what is published, open and not past its closing time: anything else is a 404 page.

Abuse controls of the form: the per-address limits (the anonymous one, gateway/ratelimit.py, and the stricter
RATE_LIMIT_APPLY for applications), the body limit (gateway/limits.py: a CV of 10 MB and the form), a signed
CSRF token bound to a cookie, and a honeypot field. Each refusal is a page saying what to do, with nothing
sent to sourcing. The routes are pages, not API: they are left out of the OpenAPI document (the public API's
twins are in gateway/routes/public_jobs.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from gateway import careers, careers_text
from gateway.console.session import same_origin
from gateway.deps import Rpc, gw
from gateway.ratelimit import RateLimited, parse_proxies, scope_address
from gateway.rpc import ServiceCalls
from gateway.templating import SECURITY_HEADERS, TEMPLATES
from shared.bus.aio_rpc import ServiceUnavailable
from shared.contracts import sourcing
from shared.contracts.caller import Caller
from shared.contracts.sourcing import PublicJob, PublicJobPage
from shared.errors import Conflict, Invalid, NotFound
from shared.timeutil import utcnow

CAREERS = Caller.system("careers")
router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
FEED_PAGES = 20  # the feed and the sitemap list at most 20 pages of 500 roles
PUBLIC_CACHE = "public, max-age=300"  # listings, roles, feed, sitemap: the same for everyone for a while
MAX_QUERY = 200


# -- shared with the public API (gateway/routes/public_jobs.py) --------------------------------------------------
def address(request: Request) -> str:
    return scope_address(request.scope, parse_proxies(request.app.state.settings.trusted_proxies))


async def check_application_limit(request: Request) -> None:
    await gw(request).limiter.check_application(address(request))


async def public_job(request: Request, rpc: ServiceCalls, requisition_id: str) -> PublicJob:
    if not 0 < len(requisition_id) <= 100:
        raise NotFound(f"job {requisition_id[:100]} not found")
    return await rpc(sourcing.GetPublicJob, CAREERS, request, requisition_id=requisition_id)


async def read_form(request: Request) -> FormData:
    """The multipart body, bounded (one file, few fields, small text parts); Invalid naming `body` or `cv`."""
    kind = request.headers.get("content-type", "")
    if not kind.lower().startswith("multipart/form-data"):
        raise Invalid("body: expected multipart/form-data (the CV is a file)", field="body")
    # Starlette's max_part_size bounds the text parts only (a file part spools to disk unbounded): the file is
    # bounded by the body limit before this (gateway/limits.py), and by MAX_DOCUMENT_BYTES when it is read.
    try:
        return await request.form(max_files=1, max_fields=careers.MAX_FIELDS, max_part_size=careers.MAX_TEXT_PART)
    except StarletteHTTPException as exc:
        field = "cv" if "files" in str(exc.detail).lower() else "body"
        raise Invalid(f"{field}: {exc.detail}", field=field) from None


async def all_jobs(request: Request, rpc: ServiceCalls) -> list[PublicJob]:
    jobs: list[PublicJob] = []
    cursor = None
    for _ in range(FEED_PAGES):
        page = await rpc(sourcing.ListPublicJobs, CAREERS, request, limit=500, cursor=cursor)
        jobs += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    return jobs


# -- pages ----------------------------------------------------------------------------------------------------
def _locale(request: Request, asked: str | None = None) -> str:
    return careers_text.pick_locale(asked or request.query_params.get("lang"),
                                    request.headers.get("accept-language"))


def _query(request: Request, name: str) -> str:
    return (request.query_params.get(name) or "").strip()[:MAX_QUERY]


def render(request: Request, template: str, locale: str, *, status: int = 200, colour: str | None = None,
           org_name: str = "hireloop", cache: bool = False, headers: dict[str, str] | None = None,
           **context: Any) -> HTMLResponse:
    text = careers_text.TEXT[locale]
    style, style_source = careers.division_style(colour)
    other = text["language_code"]
    lang_href = request.url.path + "?" + urlencode({**{k: v for k, v in request.query_params.items() if k != "lang"},
                                                    "lang": other})
    body = TEMPLATES.get_template(f"careers/{template}").render(
        text=text, locale=locale, style=style, org_name=org_name, lang_href=lang_href, **context)
    policy = SECURITY_HEADERS["Content-Security-Policy"].replace("style-src 'self'", f"style-src 'self' {style_source}")
    out = {**SECURITY_HEADERS, "Content-Security-Policy": policy, "Content-Language": locale,
           **(headers or {})}
    if cache and status == 200:
        out["Cache-Control"] = PUBLIC_CACHE
        out["Vary"] = "Accept-Language"
    return HTMLResponse(body, status_code=status, headers=out)


def message(request: Request, locale: str, status: int, title: str, lines: list[str],
            links: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
            **kwargs: Any) -> HTMLResponse:
    text = careers_text.TEXT[locale]
    links = links if links is not None else [{"href": f"/careers?lang={locale}", "text": text["all_roles"]}]
    return render(request, "message.html", locale, status=status, title=title, lines=lines, links=links,
                  headers=headers, **kwargs)


def gone(request: Request, locale: str) -> HTMLResponse:
    t = careers_text.TEXT[locale]
    return message(request, locale, 404, t["gone_title"], [t["gone_text"]])


def busy(request: Request, locale: str, exc: RateLimited) -> HTMLResponse:
    t = careers_text.TEXT[locale]
    minutes = max(1, -(-exc.retry_after // 60))
    return message(request, locale, 429, t["busy_title"], [t["busy_text"].format(n=minutes)],
                   headers={"Retry-After": str(exc.retry_after)})


def down(request: Request, locale: str) -> HTMLResponse:
    t = careers_text.TEXT[locale]
    return message(request, locale, 503, t["down_title"], [t["down_text"]], headers={"Retry-After": "5"})


def error_page(request: Request, status: int) -> HTMLResponse:
    """What the site shows for an address it does not have (404) or a method a page does not take."""
    locale = _locale(request)
    t = careers_text.TEXT[locale]
    return message(request, locale, status, t["page_gone_title"], [t["page_gone_text"]])


def too_large_page(scope: Scope, limit: int) -> bytes | None:
    """The body limit's refusal on the careers site (gateway/limits.py): a page, not JSON."""
    if not scope["path"].startswith("/careers/"):
        return None
    request = Request(scope)
    locale = _locale(request)
    t = careers_text.TEXT[locale]
    back = scope["path"]
    return message(request, locale, 413, t["too_big_title"], [t["too_big_text"]],
                   links=[{"href": f"{back}?lang={locale}", "text": t["back_to_form"]}]).body


def _job_card(job: PublicJob, locale: str, source: str | None) -> dict[str, Any]:
    return {"title": job.title, "href": f"/careers/jobs/{job.id}?" + urlencode(
                {"lang": locale, **({"source": source} if source else {})}),
            "division_name": job.division_profile.name, "department": job.department, "location": job.location,
            "remote": job.remote, "employment": careers_text.EMPLOYMENT[locale][job.employment_type],
            "salary": careers.salary_text(job.salary_range, locale), "closes_at": job.closes_at}


def _source(request: Request) -> str | None:
    """The source a link names (`?source=`, else `utm_source`), as a slug; None when it names none."""
    named = request.query_params.get("source") or request.query_params.get("utm_source")
    return careers.source_slug(named) if named else None


@router.get("/careers")
async def careers_home(request: Request, rpc: Rpc):
    locale = _locale(request)
    division, q, location = _query(request, "division")[:80], _query(request, "q"), _query(request, "location")
    cursor = _query(request, "cursor") or None
    try:
        page: PublicJobPage = await rpc(sourcing.ListPublicJobs, CAREERS, request, division=division or None,
                                        q=q or None, location=location or None, limit=PAGE_SIZE, cursor=cursor)
    except ServiceUnavailable:
        return down(request, locale)
    except Invalid:  # a cursor that is not one of ours: start again
        return RedirectResponse(f"/careers?lang={locale}", status_code=303)
    record = None
    if division:
        record = next((d for d in page.divisions if d.id == division), None) or next(
            (j.division_profile for j in page.items if j.division == division), None)
    more = None
    if page.next_cursor:
        more = "/careers?" + urlencode({k: v for k, v in {"division": division, "q": q, "location": location,
                                                          "lang": locale, "cursor": page.next_cursor}.items() if v})
    source = _source(request)
    return render(request, "list.html", locale, cache=True, colour=record.colour if record else None,
                  org_name=record.name if record else "hireloop", division=record, divisions=page.divisions,
                  q=q, location=location, jobs=[_job_card(j, locale, source) for j in page.items], more_href=more)


@router.get("/careers/privacy")
async def privacy_notice(request: Request):
    return render(request, "privacy.html", _locale(request), cache=True)


@router.get("/careers/feed.xml")
async def job_feed(request: Request, rpc: Rpc):
    jobs = await all_jobs(request, rpc)
    body = careers.job_feed(jobs, request.app.state.settings.public_url, "hireloop", utcnow())
    return Response(body, media_type="application/xml", headers={"Cache-Control": PUBLIC_CACHE})


@router.get("/careers/sitemap.xml")
async def job_sitemap(request: Request, rpc: Rpc):
    jobs = await all_jobs(request, rpc)
    body = careers.sitemap(jobs, request.app.state.settings.public_url)
    return Response(body, media_type="application/xml", headers={"Cache-Control": PUBLIC_CACHE})


@router.get("/careers/jobs/{requisition_id}")
async def job_page(request: Request, rpc: Rpc, requisition_id: str):
    locale = _locale(request)
    try:
        job = await public_job(request, rpc, requisition_id)
    except NotFound:
        return gone(request, locale)
    except ServiceUnavailable:
        return down(request, locale)
    public_url = request.app.state.settings.public_url
    source = _source(request)
    apply_href = f"/careers/jobs/{job.id}/apply?" + urlencode({"lang": locale, **({"source": source} if source
                                                                                     else {})})
    return render(request, "job.html", locale, cache=True, colour=job.division_profile.colour,
                  org_name=job.division_profile.name, job=job, ld=careers.job_posting_script(job, public_url),
                  canonical=careers.job_url(public_url, job.id), description=careers.description_html(job.description),
                  employment=careers_text.EMPLOYMENT[locale][job.employment_type],
                  salary=careers.salary_text(job.salary_range, locale), apply_href=apply_href)


def _form(request: Request, job: PublicJob, locale: str, *, source: str, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    """The application form, with a CSRF token bound to the browser's cookie (set here when it has none)."""
    settings = request.app.state.settings
    cookie = request.cookies.get(careers.CSRF_COOKIE)
    if not cookie or len(cookie) > 100:
        cookie = careers.new_csrf_cookie()
    response = render(request, "apply.html", locale, status=status, colour=job.division_profile.colour,
                      org_name=job.division_profile.name, job=job, values=values or {}, errors=errors or {},
                      csrf=careers.csrf_token(cookie, settings.context_secret), source=source,
                      honeypot=careers.HONEYPOT, action=f"/careers/jobs/{job.id}/apply",
                      job_href=f"/careers/jobs/{job.id}?lang={locale}")
    secure = request.url.scheme == "https" or settings.public_url.startswith("https://")
    response.set_cookie(careers.CSRF_COOKIE, cookie, max_age=careers.CSRF_SECONDS, path="/careers", httponly=True,
                        samesite="strict", secure=secure)
    return response


@router.get("/careers/jobs/{requisition_id}/apply")
async def apply_form(request: Request, rpc: Rpc, requisition_id: str):
    locale = _locale(request)
    try:
        job = await public_job(request, rpc, requisition_id)
    except NotFound:
        return gone(request, locale)
    except ServiceUnavailable:
        return down(request, locale)
    return _form(request, job, locale, source=_source(request) or careers.DEFAULT_SOURCE)


@router.post("/careers/jobs/{requisition_id}/apply")
async def apply(request: Request, rpc: Rpc, requisition_id: str):
    """The form: 303 to the confirmation page, or a page that says what to do (nothing sent to sourcing)."""
    locale = _locale(request)
    t = careers_text.TEXT[locale]
    try:
        await check_application_limit(request)
        job = await public_job(request, rpc, requisition_id)
    except RateLimited as exc:
        return busy(request, locale, exc)
    except NotFound:
        return gone(request, locale)
    except ServiceUnavailable:
        return down(request, locale)
    form_href = f"/careers/jobs/{job.id}/apply?lang={locale}"
    try:
        form = await read_form(request)
    except Invalid:
        return message(request, locale, 422, t["refused_title"], [t["refused_text"]],
                       links=[{"href": form_href, "text": t["back_to_form"]}])
    locale = _locale(request, careers.form_text(form, "lang"))
    t = careers_text.TEXT[locale]
    form_href = f"/careers/jobs/{job.id}/apply?lang={locale}"
    source = careers.source_slug(careers.form_text(form, "source"))
    if not same_origin(request) or not careers.csrf_valid(careers.form_text(form, "csrf"),
                                                          request.cookies.get(careers.CSRF_COOKIE),
                                                          request.app.state.settings.context_secret):
        return message(request, locale, 403, t["expired_title"], [t["expired_text"]],
                       links=[{"href": form_href, "text": t["back_to_form"]}])
    values = careers.form_values(form)
    try:
        application = await careers.read_application(form, job, source=source, locale=locale)
    except careers.Refused:
        return message(request, locale, 422, t["refused_title"], [t["refused_text"]],
                       links=[{"href": form_href, "text": t["back_to_form"]}])
    except careers.TooLarge:
        return _form(request, job, locale, source=source, values=values, errors={"cv": "err_cv_size"}, status=413)
    except careers.FormProblems as problems:
        return _form(request, job, locale, source=source, values=values, errors=problems.problems, status=422)
    try:
        await rpc(sourcing.ApplyToJob, CAREERS, request, **application.model_dump(mode="json"))
    except Conflict as exc:
        if exc.code != "duplicate_application":
            return gone(request, locale)  # closed since the form was read
        return message(request, locale, 409, t["dup_title"], [t["dup_text"].format(title=job.title)],
                       colour=job.division_profile.colour, org_name=job.division_profile.name)
    except NotFound:
        return gone(request, locale)
    except ServiceUnavailable:
        return down(request, locale)
    except Invalid as exc:  # sourcing's own checks (the questions, the file) refused a field
        name = careers.field_of(exc.field)
        key = {"cv": "err_cv_type"}.get(name, "err_answer" if name.startswith(careers.ANSWER_PREFIX) else
                                        "err_invalid")
        return _form(request, job, locale, source=source, values=values, errors={name: key}, status=422)
    # No personal data in the address: the role and the language only.
    return RedirectResponse(f"/careers/jobs/{job.id}/applied?lang={locale}", status_code=303)


@router.get("/careers/jobs/{requisition_id}/applied")
async def applied(request: Request, rpc: Rpc, requisition_id: str):
    locale = _locale(request)
    t = careers_text.TEXT[locale]
    try:
        job = await public_job(request, rpc, requisition_id)
        lines, colour, org = [t["done_text"].format(title=job.title)], job.division_profile.colour, \
            job.division_profile.name
    except (NotFound, ServiceUnavailable):  # closed since: the thanks stand
        lines, colour, org = [t["done_generic"]], None, "hireloop"
    return message(request, locale, 200, t["done_title"], [*lines, t["done_email"]], colour=colour, org_name=org)
