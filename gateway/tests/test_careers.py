"""The careers site and the public jobs API in process, against a fake of sourcing (gateway/testing.py): real
Redis (rate limits, idempotency) and MongoDB, real PDF files (reportlab) and real type checks by content.

Every bad application is answered clearly, in the page's language or api-v1's JSON, and reaches no
sourcing.ApplyToJob: a file that is not what its name says, an oversize body or file, a missing field, an
unknown or unpublished job, the honeypot filled, a missing or forged CSRF token, too many applications."""

from __future__ import annotations

import base64
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from reportlab.pdfgen import canvas

from gateway import careers
from gateway.routes.careers import CAREERS
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from gateway.tests.test_careers_formats import public_job
from shared.bus.aio_rpc import ServiceUnavailable
from shared.config import Rate
from shared.contracts import sourcing
from shared.contracts.commands import MAX_DOCUMENT_BYTES
from shared.errors import Conflict, Invalid, NotFound

LOTS = Rate(1000, 10000)
PUBLIC_URL = "https://jobs.example.org"


def a_pdf(text: str = "Ada Lovelace. Python and Kubernetes, 6 years.") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.save()
    return buf.getvalue()


PDF = a_pdf()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)


def page_of(jobs: list[dict], divisions: list[dict] | None = None) -> dict:
    return {"items": jobs, "next_cursor": None,
            "divisions": divisions if divisions is not None else [jobs[0]["division_profile"]] if jobs else []}


def serve(fake, jobs: dict[str, dict]) -> None:
    """Sourcing as the careers site sees it: `jobs` are the published ones; any other id is not found."""
    def get(call):
        if call.kwargs["requisition_id"] not in jobs:
            raise NotFound(f"job {call.kwargs['requisition_id']} not found")
        return jobs[call.kwargs["requisition_id"]]
    fake.answer(sourcing.GetPublicJob, get)
    fake.answer(sourcing.ListPublicJobs, lambda call: page_of(list(jobs.values())))
    fake.answer(sourcing.ApplyToJob, {"id": "app_9", "candidate_id": "cand_9", "status": "received"})


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "careers") as namespace, running(gateway_settings(
            data_infra, namespace, public_url=PUBLIC_URL, rate_limit_anonymous=LOTS, rate_limit_apply=LOTS)) as gw:
        gw.client.base_url = "https://testserver"  # behind TLS, as PUBLIC_URL says: the CSRF cookie is Secure
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.client.cookies.clear()
    serve(gateway.fake, {"req_1": public_job()})
    return gateway


def applies(gw) -> list:
    return gw.fake.calls_to(sourcing.ApplyToJob)


class Form(HTMLParser):
    """The hidden fields of a page's form, and the ids that labels point at / controls have."""

    def __init__(self):
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.labelled: set[str] = set()
        self.controls: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag in ("input", "textarea", "select"):
            self.controls.append((tag, a))
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"])


def form_of(html: str) -> Form:
    parser = Form()
    parser.feed(html)
    return parser


GOOD = {"name": "Ada Lovelace", "email": "ada@example.org", "phone": "+44 20 7946 0000", "location": "London",
        "years_experience": "6", "skills": "Python, espresso , ,latte art", "cover_note": "I love coffee.",
        "answers.weekends": "yes", "talent_pool_consent": "yes", "privacy_ack": "yes"}


def apply(gw, fields: dict | None = None, cv: tuple | None = ("cv.pdf", PDF, "application/pdf"), *,
          job: str = "req_1", query: str = "", csrf: bool = True, **kwargs):
    """The form as a browser posts it, after opening it (its CSRF token and cookie)."""
    form = {}
    if csrf:
        page = gw.client.get(f"/careers/jobs/{job}/apply{query}")
        form = form_of(page.text).hidden
    data = {**form, **(GOOD if fields is None else fields)}
    files = {"cv": cv} if cv is not None else None
    return gw.client.post(f"/careers/jobs/{job}/apply", data=data, files=files, **kwargs)


# ---------------------------------------------------------------------------------------------- pages

def test_the_careers_page_lists_published_roles_and_a_division_page_shows_its_name_blurb_and_colour(gw):
    response = gw.client.get("/careers")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in response.text and "Barista" in response.text
    assert 'href="/careers/jobs/req_1?lang=en"' in response.text
    assert "CNY 60,000–80,000 a year" in response.text and "Retail Cafés" in response.text
    call = gw.fake.calls_to(sourcing.ListPublicJobs)[0]
    assert call.caller == CAREERS and call.kwargs["division"] is None

    division = gw.client.get("/careers?division=retail&q=barista&location=Shanghai")
    assert "<h1>Retail Cafés</h1>" in division.text and "Coffee for the city." in division.text
    assert ":root{--division:#7a2e0e;" in division.text
    style = re.search(r"<style>(.*?)</style>", division.text).group(1)
    assert careers.division_style("#7a2e0e") == (style, careers.division_style("#7a2e0e")[1])
    assert careers.division_style("#7a2e0e")[1] in division.headers["content-security-policy"]
    assert "unsafe" not in division.headers["content-security-policy"]
    kwargs = gw.fake.calls_to(sourcing.ListPublicJobs)[-1].kwargs
    assert (kwargs["division"], kwargs["q"], kwargs["location"]) == ("retail", "barista", "Shanghai")


def test_the_pages_are_in_chinese_by_lang_or_by_the_browsers_language(gw):
    for response in (gw.client.get("/careers?lang=zh-CN"),
                     gw.client.get("/careers", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})):
        assert '<html lang="zh-CN">' in response.text and "开放职位" in response.text
        assert "每年" in response.text and "全职" in response.text
    job = gw.client.get("/careers/jobs/req_1?lang=zh-CN")
    assert '<html lang="zh-CN">' in job.text and "立即申请" in job.text
    form = gw.client.get("/careers/jobs/req_1/apply?lang=zh-CN")
    assert "提交申请" in form.text and form_of(form.text).hidden["lang"] == "zh-CN"


def test_a_job_page_has_its_posting_its_json_ld_and_a_link_to_apply_carrying_the_source(gw):
    response = gw.client.get("/careers/jobs/req_1?utm_source=LinkedIn%20Jobs")
    assert response.status_code == 200
    assert "<strong>great</strong>" in response.text and "<li>espresso</li>" in response.text
    assert 'href="/careers/jobs/req_1/apply?lang=en&amp;source=linkedin-jobs"' in response.text
    assert '<link rel="canonical" href="https://jobs.example.org/careers/jobs/req_1">' in response.text
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', response.text, re.S)
    assert len(blocks) == 1
    ld = json.loads(blocks[0])
    assert ld["@type"] == "JobPosting" and ld["title"] == "Barista" and ld["identifier"]["value"] == "req_1"
    assert ld["url"].startswith(PUBLIC_URL)
    assert gw.fake.calls_to(sourcing.GetPublicJob)[0].caller == CAREERS


def test_a_hostile_description_cannot_run_script_on_the_job_page(gw):
    evil = "</script><script>alert(1)</script>\n\n[x](javascript:alert(2))\n\n<iframe src=//evil>"
    serve(gw.fake, {"req_1": public_job(description=evil, title="<b>Chef</b>")})
    html = gw.client.get("/careers/jobs/req_1").text
    # The only script elements are the JSON-LD block; its content holds no tag.
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert len(scripts) == 1 and "<" not in scripts[0]
    assert "<iframe" not in html and "javascript:" not in re.sub(r"\[x\]\(javascript:alert\(2\)\)", "", html)
    assert "<b>Chef</b>" not in html and "&lt;b&gt;Chef&lt;/b&gt;" in html
    assert json.loads(scripts[0])["title"] == "<b>Chef</b>"


@pytest.mark.parametrize("path", ["/careers/jobs/req_gone", "/careers/jobs/req_gone/apply"])
def test_an_unknown_or_unpublished_job_is_a_friendly_404_page(gw, path):
    response = gw.client.get(path)
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "This role is not open" in response.text and '"error"' not in response.text


def test_an_unknown_careers_address_is_an_html_404_and_the_api_stays_json(gw):
    response = gw.client.get("/careers/nothing/here?lang=zh-CN")
    assert response.status_code == 404 and "页面不存在" in response.text
    assert gw.client.get("/v1/public/nothing").json()["error"]["code"] == "not_found"


def test_the_privacy_notice_is_linked_from_the_form(gw):
    form = gw.client.get("/careers/jobs/req_1/apply")
    assert 'href="/careers/privacy?lang=en"' in form.text
    assert "Privacy notice for applicants" in gw.client.get("/careers/privacy").text


def test_the_feed_and_the_sitemap_are_xml_with_absolute_urls(gw):
    serve(gw.fake, {"req_1": public_job(), "req_2": public_job(id="req_2", title="Chef")})
    feed = gw.client.get("/careers/feed.xml")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(feed.content)
    assert [j.findtext("url") for j in root.findall("job")] == [
        "https://jobs.example.org/careers/jobs/req_1?source=indeed",
        "https://jobs.example.org/careers/jobs/req_2?source=indeed"]
    sitemap = ET.fromstring(gw.client.get("/careers/sitemap.xml").content)
    locs = [u.findtext(f"{{{careers.SITEMAP_NS}}}loc") for u in sitemap]
    assert "https://jobs.example.org/careers/jobs/req_2" in locs and all(loc.startswith(PUBLIC_URL) for loc in locs)


def test_the_public_jobs_api_answers_json(gw):
    response = gw.client.get("/v1/public/jobs?division=retail&limit=10")
    assert response.status_code == 200
    body = response.json()
    assert body["items"][0]["id"] == "req_1" and body["divisions"][0]["name"] == "Retail Cafés"
    assert "required_answer" not in json.dumps(body)
    assert gw.fake.calls_to(sourcing.ListPublicJobs)[0].kwargs["limit"] == 10


def test_the_form_labels_every_control_and_hides_the_honeypot_from_people_and_autofill(gw):
    html = gw.client.get("/careers/jobs/req_1/apply").text
    parsed = form_of(html)
    visible = [(tag, a) for tag, a in parsed.controls if a.get("type") not in ("hidden", "radio")]
    assert all(a.get("id") in parsed.labelled for _, a in visible), [a.get("name") for _, a in visible]
    honeypot = next(a for _, a in parsed.controls if a.get("name") == careers.HONEYPOT)
    assert honeypot["tabindex"] == "-1" and honeypot["autocomplete"] == "off"
    assert re.search(r'<div class="hp" aria-hidden="true">\s*<label for="f-homepage">', html)
    assert 'name="answers.weekends" value="yes"' in html and "Can you work weekends?" in html
    assert '<main id="content"' in html and "<header" in html and '<a class="skip" href="#content">' in html


# ---------------------------------------------------------------------------------------------- applying

def test_an_application_goes_to_sourcing_as_the_careers_system_and_ends_on_a_confirmation(gw):
    response = apply(gw, query="?source=Job%20Fair&lang=zh-CN")
    assert response.status_code == 303
    assert response.headers["location"] == "/careers/jobs/req_1/applied?lang=zh-CN"  # no personal data
    [call] = applies(gw)
    assert call.caller == CAREERS
    sent = call.kwargs
    assert sent["requisition_id"] == "req_1" and sent["source"] == "job-fair" and sent["locale"] == "zh-CN"
    assert sent["candidate"] == {"name": "Ada Lovelace", "email": "ada@example.org", "phone": "+44 20 7946 0000",
                                 "location": "London", "years_experience": 6.0,
                                 "skills": ["Python", "espresso", "latte art"]}
    assert sent["answers"] == {"weekends": True} and sent["talent_pool_consent"] is True
    assert sent["privacy_ack"] is True and sent["cover_note"] == "I love coffee."
    assert sent["cv"]["filename"] == "cv.pdf" and base64.b64decode(sent["cv"]["data"]) == PDF
    done = gw.client.get(response.headers["location"])
    assert "感谢您的申请" in done.text and "Barista" in done.text and "邮件" in done.text


def test_the_default_source_is_careers_and_unticked_consent_is_no(gw):
    fields = {k: v for k, v in GOOD.items() if k != "talent_pool_consent"}
    assert apply(gw, {**fields, "answers.weekends": "no"}).status_code == 303
    sent = applies(gw)[0].kwargs
    assert sent["source"] == "careers" and sent["talent_pool_consent"] is False
    assert sent["answers"] == {"weekends": False} and sent["locale"] == "en"


@pytest.mark.parametrize("fields, cv, field, words", [
    ({**GOOD, "name": ""}, ("cv.pdf", PDF, "application/pdf"), "name", "This is required."),
    ({**GOOD, "email": "not-an-email"}, ("cv.pdf", PDF, "application/pdf"), "email", "valid email address"),
    ({**GOOD, "years_experience": "lots"}, ("cv.pdf", PDF, "application/pdf"), "years_experience", "from 0 to 80"),
    ({**GOOD, "privacy_ack": ""}, ("cv.pdf", PDF, "application/pdf"), "privacy_ack", "privacy notice"),
    ({k: v for k, v in GOOD.items() if k != "answers.weekends"}, ("cv.pdf", PDF, "application/pdf"),
     "answers.weekends", "Please answer this question."),
    (GOOD, ("cv.pdf", PNG, "application/pdf"), "cv", "is not a PDF, Word (.docx) or text file"),  # renamed image
    (GOOD, ("", b"", "application/octet-stream"), "cv", "Please attach your CV."),  # no file chosen
    (GOOD, ("cv.pdf", b"", "application/pdf"), "cv", "Please attach your CV."),
])
def test_a_bad_field_shows_the_form_again_with_the_message_next_to_it(gw, fields, cv, field, words):
    response = apply(gw, fields, cv)
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    error_id = "err-" + field.replace(".", "-")
    assert re.search(rf'<p class="field-error" id="{error_id}">[^<]*{re.escape(words)}', response.text)
    assert f'aria-describedby="{error_id}' in response.text
    assert 'value="Ada Lovelace"' in response.text or field == "name"  # what was typed is kept
    assert applies(gw) == []


def test_the_form_errors_speak_the_forms_language(gw):
    response = apply(gw, {**GOOD, "lang": "zh-CN"}, ("cv.pdf", PNG, "application/pdf"))
    assert response.status_code == 422 and "该文件不是 PDF" in response.text and '<html lang="zh-CN">' in response.text


def test_a_declared_body_over_the_cap_is_413_at_once_and_a_streamed_one_is_cut(gw):
    page = gw.client.get("/careers/jobs/req_1/apply")
    hidden = form_of(page.text).hidden
    big = ("cv.pdf", b"%PDF-1.4\n" + b"0" * (careers.MAX_APPLICATION_BODY + 10), "application/pdf")
    response = gw.client.post("/careers/jobs/req_1/apply", data={**hidden, **GOOD}, files={"cv": big})
    assert response.status_code == 413 and "The upload is too large" in response.text

    def chunks():
        yield b"--x\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\n\r\n"
        for _ in range(careers.MAX_APPLICATION_BODY // (1024 * 1024) + 2):
            yield b"0" * (1024 * 1024)
    streamed = gw.client.post("/careers/jobs/req_1/apply", content=chunks(),
                              headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert streamed.status_code == 413
    api = gw.client.post("/v1/public/jobs/req_1/applications", data=GOOD, files={"cv": big})
    assert api.status_code == 413 and api.json()["error"]["code"] == "payload_too_large"
    assert applies(gw) == []


def test_a_file_over_10_mb_within_the_body_cap_is_413_naming_the_cv(gw):
    over = ("cv.txt", b"a" * (MAX_DOCUMENT_BYTES + 1), "text/plain")
    response = apply(gw, GOOD, over)
    assert response.status_code == 413 and 'id="err-cv"' in response.text and "over 10 MB" in response.text
    api = gw.client.post("/v1/public/jobs/req_1/applications", data=GOOD, files={"cv": over})
    assert api.status_code == 413 and api.json()["error"]["field"] == "cv"
    assert applies(gw) == []


def test_a_missing_or_forged_csrf_token_is_refused(gw):
    missing = apply(gw, csrf=False)
    assert missing.status_code == 403 and "This form has expired" in missing.text
    hidden = form_of(gw.client.get("/careers/jobs/req_1/apply").text).hidden
    forged = gw.client.post("/careers/jobs/req_1/apply", data={**hidden, "csrf": hidden["csrf"][:-3] + "abc", **GOOD},
                            files={"cv": ("cv.pdf", PDF, "application/pdf")})
    assert forged.status_code == 403
    # a real token, but for another browser's cookie
    gw.client.cookies.set(careers.CSRF_COOKIE, careers.new_csrf_cookie(), path="/careers")
    other = gw.client.post("/careers/jobs/req_1/apply", data={**hidden, **GOOD},
                           files={"cv": ("cv.pdf", PDF, "application/pdf")})
    assert other.status_code == 403
    assert applies(gw) == []


def test_a_post_from_another_site_is_refused_even_with_a_token(gw):
    response = apply(gw, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and applies(gw) == []


def test_a_filled_honeypot_is_a_clear_refusal_with_nothing_sent(gw):
    response = apply(gw, {**GOOD, careers.HONEYPOT: "http://spam.example"})
    assert response.status_code == 422 and "We could not accept this form" in response.text
    api = gw.client.post("/v1/public/jobs/req_1/applications", data={**GOOD, careers.HONEYPOT: "x"},
                         files={"cv": ("cv.pdf", PDF, "application/pdf")})
    assert api.status_code == 422 and api.json()["error"]["field"] == careers.HONEYPOT
    assert applies(gw) == []


def test_applying_to_an_unknown_or_closed_job_is_404_with_nothing_sent(gw):
    response = gw.client.post("/careers/jobs/req_gone/apply", data=GOOD,
                              files={"cv": ("cv.pdf", PDF, "application/pdf")})
    assert response.status_code == 404 and "This role is not open" in response.text
    api = gw.client.post("/v1/public/jobs/req_gone/applications", data=GOOD,
                         files={"cv": ("cv.pdf", PDF, "application/pdf")})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert applies(gw) == []


def test_a_second_application_to_the_same_job_is_a_friendly_page_pointing_to_the_portal_link(gw):
    gw.fake.answer(sourcing.ApplyToJob, Conflict("this candidate has already applied to this requisition: "
                                                 "application app_1", code="duplicate_application"))
    response = apply(gw)
    assert response.status_code == 409 and response.headers["content-type"].startswith("text/html")
    assert "You have already applied for this role" in response.text and "link in the email" in response.text
    assert "app_1" not in response.text and '"error"' not in response.text
    api = gw.client.post("/v1/public/jobs/req_1/applications", data=GOOD,
                         files={"cv": ("cv.pdf", PDF, "application/pdf")})
    assert api.status_code == 409 and api.json()["error"]["code"] == "duplicate_application"


def test_sourcings_own_refusal_of_a_field_shows_the_form_again(gw):
    gw.fake.answer(sourcing.ApplyToJob, Invalid("answers.weekends: unanswered", field="answers.weekends"))
    response = apply(gw)
    assert response.status_code == 422 and 'id="err-answers-weekends"' in response.text


def test_a_service_that_does_not_answer_is_a_page_asking_to_retry(gw):
    gw.fake.answer(sourcing.ApplyToJob, ServiceUnavailable("sourcing", "no answer in time"))
    response = apply(gw)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert "Please try again in a moment" in response.text


# ---------------------------------------------------------------------------------------------- the public API

def test_the_public_api_applies_with_the_same_fields_and_answers_202(gw):
    response = gw.client.post("/v1/public/jobs/req_1/applications?utm_source=Acme%20Site",
                              data={**GOOD, "lang": "zh-CN"}, files={"cv": ("Ada CV.pdf", PDF, "application/pdf")},
                              headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 202 and response.json() == {"application_id": "app_9", "status": "received"}
    [call] = applies(gw)
    assert call.caller == CAREERS and call.kwargs["source"] == "acme-site" and call.kwargs["locale"] == "zh-CN"
    assert call.kwargs["cv"]["filename"] == "Ada CV.pdf"
    again = gw.client.post("/v1/public/jobs/req_1/applications?utm_source=Acme%20Site",
                           data={**GOOD, "lang": "zh-CN"}, files={"cv": ("Ada CV.pdf", PDF, "application/pdf")},
                           headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 202 and again.json() == response.json() and len(applies(gw)) == 1


@pytest.mark.parametrize("data, files, field", [
    ({**GOOD, "email": "nope"}, {"cv": ("cv.pdf", PDF, "application/pdf")}, "email"),
    ({k: v for k, v in GOOD.items() if k != "name"}, {"cv": ("cv.pdf", PDF, "application/pdf")}, "name"),
    (GOOD, {"cv": ("cv.pdf", PNG, "application/pdf")}, "cv"),
    (GOOD, None, "cv"),
    ({**GOOD, "answers.unknown": "yes"}, {"cv": ("cv.pdf", PDF, "application/pdf")}, "answers.unknown"),
    ({**GOOD, "lang": "fr"}, {"cv": ("cv.pdf", PDF, "application/pdf")}, "lang"),
])
def test_the_public_api_names_the_field_at_fault_in_api_v1s_shape(gw, data, files, field):
    if files is None:  # multipart with no file at all
        files = {"other": ("x.txt", b"", "text/plain")}
        data = {**data}
    response = gw.client.post("/v1/public/jobs/req_1/applications", data=data, files=files)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field and error["message"] and error["code"] == "validation_error"
    assert applies(gw) == []


def test_the_public_api_refuses_json_it_takes_a_multipart_form(gw):
    response = gw.client.post("/v1/public/jobs/req_1/applications", json={"name": "Ada"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "body"


# ---------------------------------------------------------------------------------------------- limits

def test_too_many_applications_from_one_address_are_429_with_retry_after(data_infra):
    settings = dict(public_url=PUBLIC_URL, rate_limit_anonymous=LOTS, rate_limit_apply=Rate(0.001, 2))
    with namespace_of(data_infra, "careers-429") as namespace, running(gateway_settings(
            data_infra, namespace, **settings)) as gw:
        gw.client.base_url = "https://testserver"
        serve(gw.fake, {"req_1": public_job()})
        assert apply(gw).status_code == 303
        assert gw.client.post("/v1/public/jobs/req_1/applications", data=GOOD,
                              files={"cv": ("cv.pdf", PDF, "application/pdf")}).status_code == 202
        page = apply(gw)
        assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
        assert "Please try again later" in page.text
        api = gw.client.post("/v1/public/jobs/req_1/applications", data=GOOD,
                             files={"cv": ("cv.pdf", PDF, "application/pdf")})
        assert api.status_code == 429 and api.json()["error"]["code"] == "rate_limited" and api.headers["retry-after"]
        assert len(applies(gw)) == 2
        # reading the site is not an application: still open
        assert gw.client.get("/careers").status_code == 200
