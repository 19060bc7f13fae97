"""The careers site's rules and formats (gateway/routes/careers.py, gateway/routes/public_jobs.py), with no
network I/O: reading an application form, the CSRF token of the form, the source a link names, a job's
description as safe HTML, its schema.org JobPosting, the XML job feed and the sitemap.

What travels on: a `PublicApplication` (shared/contracts/commands.py) for sourcing.ApplyToJob, the CV's bytes
base64-encoded. Sourcing decides again (the type by content, the questions, the duplicate); the checks here
answer a person early, in their language, with nothing sent.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlencode

from jinja2.utils import htmlsafe_json_dumps
from markdown_it import MarkdownIt
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from gateway.careers_text import PERIOD, TEXT
from shared import documents
from shared.contracts.commands import MAX_DOCUMENT_BYTES, PublicApplication
from shared.contracts.sourcing import PublicJob
from shared.signing import BadSignature, sign, verify
from shared.timeutil import parse

# -- where applications come from ------------------------------------------------------------------------
DEFAULT_SOURCE = "careers"
_SLUG_DROP = re.compile(r"[^a-z0-9]+")


def source_slug(value: str | None) -> str:
    """`?source=` / `utm_source` as a short slug (`LinkedIn Jobs` -> `linkedin-jobs`); `careers` when empty."""
    slug = _SLUG_DROP.sub("-", (value or "").strip().lower()).strip("-")[:40].strip("-")
    return slug or DEFAULT_SOURCE


# -- the form's CSRF token: double submit, signed and short-lived -------------------------------------------
# The browser holds a random value in a cookie (HttpOnly, SameSite=Strict, path /careers); the form carries a
# token signed by the gateway that names a hash of that value and expires. Another site can make a browser
# post the form, but can neither read the cookie nor sign a token for it.
CSRF_COOKIE = "hireloop_careers_csrf"
CSRF_SECONDS = 2 * 3600
_CSRF_PURPOSE = "careers-csrf"


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(32)


def _bound(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()[:32]


def csrf_token(cookie: str, secret: str) -> str:
    return sign({"c": _bound(cookie)}, secret, _CSRF_PURPOSE, ttl=CSRF_SECONDS)


def csrf_valid(token: str | None, cookie: str | None, secret: str) -> bool:
    if not token or not cookie or len(token) > 400 or len(cookie) > 100:
        return False
    try:
        body = verify(token, secret, _CSRF_PURPOSE)
    except BadSignature:
        return False
    return secrets.compare_digest(str(body.get("c", "")), _bound(cookie))


# -- the form's fields (api-v1 "Careers, documents"; docs/careers.md) ------------------------------------------
HONEYPOT = "homepage"  # hidden from people (and their browsers' autofill); a bot fills it
ANSWER_PREFIX = "answers."  # one field per knock-out question: `answers.<question id>` = yes | no
FIELDS = {"name", "email", "phone", "location", "years_experience", "skills", "cv", "cover_note",
          "talent_pool_consent", "privacy_ack", "source", "lang", "csrf", HONEYPOT}
TEXT_FIELDS = ("name", "email", "phone", "location", "years_experience", "skills", "cover_note")
MAX_SKILLS_TEXT = 8000  # 100 skills of a few words
MAX_FIELDS = 60  # the fields above and 20 questions, with room to spare
MAX_TEXT_PART = 64 * 1024  # a cover note of 5,000 characters is at most 20 KB of UTF-8
# The body of an application: the CV and what the form says besides.
MAX_APPLICATION_BODY = MAX_DOCUMENT_BYTES + 256 * 1024
YES = frozenset({"yes", "true", "on", "1"})
NO = frozenset({"no", "false", "off", "0"})
# A pydantic error's place in PublicApplication -> (the form's field, what to say: a key of TEXT).
_CANDIDATE_FIELDS = {"name": "err_name", "email": "err_email", "phone": "err_phone", "location": "err_location",
                     "years_experience": "err_years", "skills": "err_skills"}


class Refused(Exception):
    """The honeypot was filled: refuse clearly, store nothing."""


class TooLarge(Exception):
    """The CV is over MAX_DOCUMENT_BYTES (413 naming `cv`)."""


@dataclass
class FormProblems(Exception):
    """What is wrong with an application form: {field: key of careers_text.TEXT}, in the form's order."""

    problems: dict[str, str] = field(default_factory=dict)

    def first(self) -> tuple[str, str]:
        name, key = next(iter(self.problems.items()))
        return name, f"{name}: {TEXT['en'][key]}"


def _flag(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    return True if text in YES else False if text in NO else None


def form_values(form: FormData) -> dict[str, str]:
    """What the person typed, to show the form again (never the file, never the honeypot or token)."""
    values = {name: str(form.get(name) or "") for name in TEXT_FIELDS}
    values.update({k: str(v) for k, v in form.multi_items() if k.startswith(ANSWER_PREFIX) and isinstance(v, str)})
    values["talent_pool_consent"] = "yes" if _flag(form_text(form, "talent_pool_consent")) else ""
    values["privacy_ack"] = "yes" if _flag(form_text(form, "privacy_ack")) else ""
    return values


def form_text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def read_application(form: FormData, job: PublicJob, *, source: str, locale: str) -> PublicApplication:
    """The application a form makes, or FormProblems naming every field at fault; Refused when the honeypot is
    filled, TooLarge when the CV is over the limit. Reads the CV (at most the limit and one byte)."""
    if (form_text(form, HONEYPOT) or "").strip() or isinstance(form.get(HONEYPOT), UploadFile):
        raise Refused()
    problems: dict[str, str] = {}
    questions = {q.id for q in job.knockout_questions}
    for name, value in form.multi_items():
        known = name in FIELDS or (name.startswith(ANSWER_PREFIX) and name[len(ANSWER_PREFIX):] in questions)
        if not known or (name != "cv" and isinstance(value, UploadFile)):
            problems.setdefault(name[:80], "err_invalid")
    if len(form.getlist("cv")) > 1:
        problems["cv"] = "err_invalid"
    candidate: dict[str, Any] = {}
    for name in ("name", "email"):
        candidate[name] = (form_text(form, name) or "").strip()
        if not candidate[name]:
            problems[name] = "err_required"
    for name in ("phone", "location"):
        value = (form_text(form, name) or "").strip()
        candidate[name] = value or None
    years = (form_text(form, "years_experience") or "").strip()
    try:
        candidate["years_experience"] = float(years.replace(",", "."))
        if candidate["years_experience"] != candidate["years_experience"]:  # NaN
            raise ValueError(years)
    except ValueError:
        problems["years_experience"] = "err_required" if not years else "err_years"
    skills = form_text(form, "skills") or ""
    candidate["skills"] = [s.strip() for s in skills.split(",") if s.strip()]
    if len(skills) > MAX_SKILLS_TEXT:
        problems["skills"] = "err_skills"
    answers: dict[str, bool] = {}
    for q in job.knockout_questions:
        answer = _flag(form_text(form, ANSWER_PREFIX + q.id))
        if answer is None:
            problems[ANSWER_PREFIX + q.id] = "err_answer"
        else:
            answers[q.id] = answer
    consent = form_text(form, "talent_pool_consent")
    if consent is not None and _flag(consent) is None:
        problems["talent_pool_consent"] = "err_invalid"
    if not _flag(form_text(form, "privacy_ack")):
        problems["privacy_ack"] = "err_privacy_ack"
    cv = await _read_cv(form.get("cv"), problems)
    data = {"requisition_id": job.id, "source": source, "candidate": candidate,
            "cover_note": (form_text(form, "cover_note") or "").strip(), "answers": answers,
            "talent_pool_consent": bool(_flag(consent)), "privacy_ack": True, "locale": locale, "cv": cv}
    try:
        application = PublicApplication.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            name, key = _place(error.get("loc", ()))
            problems.setdefault(name, key)
        application = None
    if problems:
        raise FormProblems(_ordered(problems, job))
    assert application is not None
    return application


async def _read_cv(upload: Any, problems: dict[str, str]) -> dict[str, str] | None:
    if not isinstance(upload, UploadFile) or not upload.filename:
        problems["cv"] = "err_cv_missing"
        return None
    if upload.size is not None and upload.size > MAX_DOCUMENT_BYTES:
        raise TooLarge()
    data = await upload.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise TooLarge()
    if not data:
        problems["cv"] = "err_cv_missing"
        return None
    kind = documents.content_type_of(data)
    if kind is None:
        problems["cv"] = "err_cv_type"
        return None
    return {"filename": cv_filename(upload.filename, kind), "data": base64.b64encode(data).decode("ascii")}


def cv_filename(sent: str, kind: str) -> str:
    """The name a browser sent, without any folder, at most 255 characters; the type's own when none."""
    name = PurePosixPath(sent.replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable())
    if not name:
        return "cv" + documents.EXTENSION[kind]
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:250 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:255]
    return name


def _place(loc: tuple) -> tuple[str, str]:
    parts = [str(p) for p in loc]
    if parts[:1] == ["candidate"] and len(parts) > 1:
        return parts[1], _CANDIDATE_FIELDS.get(parts[1], "err_invalid")
    if parts[:1] == ["cv"]:
        return "cv", "err_cv_type"
    if parts[:1] == ["answers"]:
        return ANSWER_PREFIX + (parts[1] if len(parts) > 1 else ""), "err_answer"
    if parts[:1] == ["cover_note"]:
        return "cover_note", "err_cover_note"
    return (parts[0] if parts else "body"), "err_invalid"


def _ordered(problems: dict[str, str], job: PublicJob) -> dict[str, str]:
    order = ["name", "email", "phone", "location", "years_experience", "skills", "cv", "cover_note",
             *(ANSWER_PREFIX + q.id for q in job.knockout_questions), "talent_pool_consent", "privacy_ack"]
    rank = {name: i for i, name in enumerate(order)}
    return dict(sorted(problems.items(), key=lambda item: rank.get(item[0], len(order))))


def field_of(service_field: str | None) -> str:
    """The form's field for the field sourcing names in a refusal (`candidate.email` -> `email`)."""
    name = service_field or "body"
    if name.startswith("candidate."):
        return name.split(".", 1)[1].split(".", 1)[0]
    if name.startswith("cv"):
        return "cv"
    return name


# -- a job's description: Markdown, no raw HTML, only safe links -------------------------------------------------
_SAFE_LINK = re.compile(r"^(https?://|mailto:)", re.I)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).disable("image")
    # Markdown-it refuses javascript:, vbscript:, file: and data: itself; the site takes only web and mail links.
    md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))
    return md


_MD = _markdown()


def description_html(text: str) -> Markup:
    """The description as HTML: raw HTML in it is shown as text, links other than http(s)/mailto are text."""
    return Markup(_MD.render(text or ""))


# -- presentation ---------------------------------------------------------------------------------------------
def salary_text(salary: Any, locale: str) -> str | None:
    if salary is None:
        return None
    low, high = f"{salary.min:,.0f}", f"{salary.max:,.0f}"
    amount = low if salary.min == salary.max else f"{low}–{high}"
    return f"{salary.currency} {amount} {PERIOD[locale][salary.period]}"


DEFAULT_COLOUR = "#1f6f5c"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def division_style(colour: str | None) -> tuple[str, str]:
    """A page's division colour as a style sheet of one rule, and the CSP source that allows exactly it (the
    pages allow no inline style otherwise). The text on it is dark or white, whichever reads better."""
    colour = colour if colour and _COLOUR.match(colour) else DEFAULT_COLOUR
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    # WCAG contrast against white (1.05 / (L + .05)) and against the site's ink (#17202e, L about .014)
    ink = "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.064 else "#17202e"
    css = f":root{{--division:{colour.lower()};--division-ink:{ink}}}"
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, f"'sha256-{digest}'"


# -- URLs ---------------------------------------------------------------------------------------------------
def base_url(public_url: str) -> str:
    return public_url.rstrip("/")


def job_url(public_url: str, job_id: str, **query: str) -> str:
    q = {k: v for k, v in query.items() if v}
    return f"{base_url(public_url)}/careers/jobs/{quote(job_id, safe='')}" + (f"?{urlencode(q)}" if q else "")


def division_url(public_url: str, division: str) -> str:
    return f"{base_url(public_url)}/careers?{urlencode({'division': division})}"


# -- schema.org JobPosting (https://schema.org/JobPosting; Google's job posting structured data) -------------
_EMPLOYMENT_LD = {"full_time": "FULL_TIME", "part_time": "PART_TIME", "contract": "CONTRACTOR",
                  "internship": "INTERN", "temporary": "TEMPORARY"}


def job_posting(job: PublicJob, public_url: str) -> dict[str, Any]:
    org = {"@type": "Organization", "name": job.division_profile.name,
           "sameAs": division_url(public_url, job.division)}
    posting: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": job.title,
        "description": str(description_html(job.description)) or job.title,
        "identifier": {"@type": "PropertyValue", "name": job.division_profile.name, "value": job.id},
        "datePosted": job.published_at or job.updated_at,
        "validThrough": job.closes_at,
        "employmentType": _EMPLOYMENT_LD[job.employment_type],
        "hiringOrganization": org,
        "directApply": True,
        "url": job_url(public_url, job.id),
    }
    if job.location:
        posting["jobLocation"] = {"@type": "Place", "address": {"@type": "PostalAddress",
                                                               "addressLocality": job.location}}
    if job.remote:
        posting["jobLocationType"] = "TELECOMMUTE"
        # Where a remote applicant may live: the posting's location when it names one.
        if job.location:
            posting["applicantLocationRequirements"] = {"@type": "AdministrativeArea", "name": job.location}
    if job.salary_range is not None:
        s = job.salary_range
        posting["baseSalary"] = {"@type": "MonetaryAmount", "currency": s.currency, "value": {
            "@type": "QuantitativeValue", "minValue": s.min, "maxValue": s.max, "unitText": s.period.upper()}}
    return {k: v for k, v in posting.items() if v is not None}


def job_posting_script(job: PublicJob, public_url: str) -> Markup:
    """The JSON-LD for a `<script type="application/ld+json">`: `<`, `>`, `&` and `'` escaped as \\u00XX, so
    no `</script>` in a description can end the block."""
    return htmlsafe_json_dumps(job_posting(job, public_url))


# -- the XML job feed (Indeed's XML feed format) and the sitemap (sitemaps.org) ---------------------------------
# Characters XML 1.0 does not allow (control characters from a pasted description) are dropped.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FEED_JOBTYPE = {"full_time": "fulltime", "part_time": "parttime", "contract": "contract",
                 "internship": "internship", "temporary": "temporary"}


def _add(parent: ET.Element, tag: str, text: Any) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = _NOT_XML.sub("", str(text))
    return element


def _rfc822(value: str | None) -> str | None:
    return format_datetime(parse(value).astimezone(UTC), usegmt=True) if value else None


def job_feed(jobs: list[PublicJob], public_url: str, publisher: str, now: datetime) -> bytes:
    """Indeed's XML job feed: `<source>` with the publisher, then one `<job>` per published role."""
    root = ET.Element("source")
    _add(root, "publisher", publisher)
    _add(root, "publisherurl", f"{base_url(public_url)}/careers")
    _add(root, "lastBuildDate", format_datetime(now.astimezone(UTC), usegmt=True))
    for job in jobs:
        item = ET.SubElement(root, "job")
        _add(item, "title", job.title)
        _add(item, "date", _rfc822(job.published_at or job.updated_at))
        _add(item, "referencenumber", job.id)
        _add(item, "requisitionid", job.id)
        _add(item, "url", job_url(public_url, job.id, source="indeed"))
        _add(item, "company", job.division_profile.name)
        _add(item, "sourcename", job.division_profile.name)
        _add(item, "city", job.location)
        _add(item, "description", description_html(job.description))
        if job.salary_range is not None:
            s = job.salary_range
            _add(item, "salary", f"{s.currency} {s.min:.0f}-{s.max:.0f} per {s.period}")
        _add(item, "jobtype", _FEED_JOBTYPE[job.employment_type])
        _add(item, "category", job.department)
        _add(item, "experience", f"{job.min_years:g}+ years" if job.min_years else None)
        if job.remote:
            _add(item, "remotetype", "Fully remote")
        if job.closes_at:
            _add(item, "expirationdate", _rfc822(job.closes_at))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap(jobs: list[PublicJob], public_url: str) -> bytes:
    """sitemaps.org urlset: the careers home, each division's page and each role, with when it last changed."""
    def changed(job: PublicJob) -> str | None:
        return job.updated_at or job.published_at

    root = ET.Element("urlset", xmlns=SITEMAP_NS)

    def url(loc: str, lastmod: str | None) -> None:
        entry = ET.SubElement(root, "url")
        _add(entry, "loc", loc)
        if lastmod:
            _add(entry, "lastmod", parse(lastmod).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    stamps = [c for c in map(changed, jobs) if c]
    url(f"{base_url(public_url)}/careers", max(stamps, key=parse) if stamps else None)
    for division in sorted({j.division for j in jobs}):
        own = [c for j in jobs if j.division == division and (c := changed(j))]
        url(division_url(public_url, division), max(own, key=parse) if own else None)
    for job in jobs:
        url(job_url(public_url, job.id), changed(job))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
