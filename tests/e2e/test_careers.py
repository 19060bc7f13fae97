"""The careers site against the whole platform, over HTTP with the captured mail: a published role on
`/careers`, a candidate applying with a real PDF CV, the acknowledgement with their portal link, the recruiter
seeing the application (source `careers`), the CV and the skills read from it, and screening using them; then
every kind of bad application answered clearly with nothing stored. (The same walk in Chromium, on a phone in
both languages: tests/e2e/test_careers_browser.py.)"""

from __future__ import annotations

import io
import json
import re
import secrets

import pytest
from reportlab.pdfgen import canvas

from tests.e2e.test_hiring_loop import app_status, find_mail, make_key, portal_link
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "careers-e2e"


def a_pdf(*lines: str) -> bytes:
    """A real PDF (reportlab), as a candidate's CV would be."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i, line in enumerate(lines):
        c.drawString(72, 760 - 18 * i, line)
    c.save()
    return buf.getvalue()


def open_role(hr, **fields) -> dict:
    body = {"title": "Platform Engineer", "division": DIVISION, "department": "infrastructure", "tier": "basic",
            "required_skills": ["Python"], "skills": ["Kubernetes", "Terraform"], "min_years": 2,
            "location": "Lyon", "published": True, "remote": True,
            "description": "## The role\nRun the **platform** that runs the group.",
            "salary_range": {"min": 50000, "max": 65000, "currency": "EUR", "period": "year"}, **fields}
    r = hr.post("/v1/requisitions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


class Visitor:
    """A person on the careers site: their own cookies and their own address (the gateway trusts the test's
    loopback proxy, so each visitor is limited on its own)."""

    def __init__(self, platform, address: str):
        self.client = platform.client()
        self.client.headers.pop("Authorization")
        self.client.headers["X-Forwarded-For"] = address

    def form(self, job_id: str, **params) -> str:
        page = self.client.get(f"/careers/jobs/{job_id}/apply", params=params)
        assert page.status_code == 200, page.text
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

    def apply(self, job_id: str, csrf: str, *, cv: tuple[str, bytes, str] | None, **fields):
        data = {"name": "Camille Careers", "email": "camille@example.com", "years_experience": "4",
                "skills": "Python", "privacy_ack": "on", "csrf": csrf, **fields}
        data = {k: v for k, v in data.items() if v is not None}
        # A browser posts the form as multipart even with no file chosen: an empty part with no name.
        files = {"cv": cv or ("", b"", "application/octet-stream")}
        return self.client.post(f"/careers/jobs/{job_id}/apply", data=data, files=files, follow_redirects=False)


def applications_of(client, req_id: str) -> list[dict]:
    return client.get(f"/v1/requisitions/{req_id}/applications").json()["items"]


def mail_to(platform, address: str) -> list[dict]:
    return [m for m in platform.mail() if address.lower() in [t.lower() for t in m["to"]]]


def test_a_candidate_applies_with_a_pdf_cv_and_screening_uses_what_the_cv_says(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "cora", "hr", [DIVISION]))
    recruiter = platform.client(make_key(admin, "cyd", "recruiter", [DIVISION]))
    outsider = platform.client(make_key(admin, "oz", "interviewer", [DIVISION]))
    role = open_role(hr)
    hidden = open_role(hr, title="Secret Staff Engineer", published=False)

    visitor = Visitor(platform, "198.51.100.10")
    listing = visitor.client.get("/careers", params={"division": DIVISION})
    assert listing.status_code == 200 and role["title"] in listing.text and hidden["title"] not in listing.text
    page = visitor.client.get(f"/careers/jobs/{role['id']}")
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.S).group(1))
    assert ld["@type"] == "JobPosting" and ld["title"] == role["title"]
    assert ld["baseSalary"]["currency"] == "EUR" and ld["jobLocationType"] == "TELECOMMUTE"
    assert role["id"] in visitor.client.get("/careers/feed.xml").text
    assert f"/careers/jobs/{role['id']}" in visitor.client.get("/careers/sitemap.xml").text
    assert visitor.client.get(f"/careers/jobs/{hidden['id']}").status_code == 404

    email = f"camille.{secrets.token_hex(3)}@example.com"
    cv = a_pdf("Camille Careers", "Skills: Python, Kubernetes and Terraform.", "7 years of experience.")
    answer = visitor.apply(role["id"], visitor.form(role["id"]), cv=("camille-cv.pdf", cv, "application/pdf"),
                           email=email, talent_pool_consent="on")
    assert answer.status_code == 303, answer.text
    assert email not in answer.headers["location"]  # no personal data in the address

    # The candidate is told at once, with their portal link.
    ack = find_mail(platform, email, "")
    link = portal_link(platform.mail_body(ack[0]))
    assert visitor.client.get(link, headers={"Accept": "application/json"}).json()["status"] in (
        "received", "shortlisted")

    # The recruiter sees it: source careers, the CV, the skills read from it; screening used them.
    [app] = [a for a in applications_of(recruiter, role["id"])]
    assert app["source"] == "careers"
    docs = wait_for(lambda: recruiter.get(f"/v1/applications/{app['id']}/documents").json()["items"],
                    lambda items: items and items[0]["text_status"] == "extracted", what="the CV read")
    assert docs[0]["kind"] == "cv" and docs[0]["content_type"] == "application/pdf"
    assert {"kubernetes", "terraform"} <= {s.casefold() for s in docs[0]["skills_found"]}
    screened = wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["screening"], what="screened")
    assert screened["status"] == "shortlisted"
    assert {s.casefold() for s in screened["screening"]["skills_from_cv"]} == {"kubernetes", "terraform"}
    assert screened["screening"]["match"] == 100
    assert any("CV" in reason for reason in screened["screening"]["reasons"])
    download = recruiter.get(f"/v1/documents/{docs[0]['id']}")
    assert download.status_code == 200 and download.content == cv
    # An interviewer who is not on the panel cannot read it.
    assert outsider.get(f"/v1/documents/{docs[0]['id']}").status_code == 404


def test_a_company_site_applies_through_the_public_api(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "cleo", "hr", [DIVISION]))
    role = open_role(hr, title="Data Engineer", required_skills=["SQL"], skills=["Airflow"])
    anonymous = Visitor(platform, "198.51.100.11").client
    jobs = anonymous.get("/v1/public/jobs", params={"division": DIVISION}).json()["items"]
    assert role["id"] in [j["id"] for j in jobs]
    email = f"dana.{secrets.token_hex(3)}@example.com"
    r = anonymous.post(f"/v1/public/jobs/{role['id']}/applications", params={"utm_source": "partner-site"},
                       data={"name": "Dana Data", "email": email, "years_experience": "3", "skills": "SQL",
                             "privacy_ack": "true"},
                       files={"cv": ("dana.txt", b"Dana Data\nSQL and Airflow since 2021\n", "text/plain")})
    assert r.status_code == 202, r.text
    app_id = r.json()["application_id"]
    assert r.json()["status"] == "received"
    app = wait_for(lambda: app_status(hr, app_id), lambda a: a["screening"], what="screened")
    assert app["source"] == "partner-site"
    assert [s.casefold() for s in app["screening"]["skills_from_cv"]] == ["airflow"]


def test_bad_applications_are_answered_clearly_and_store_nothing(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "cass", "hr", [DIVISION]))
    role = open_role(hr, title="Site Reliability Engineer")
    unpublished = open_role(hr, title="Draft role", published=False)
    closed = open_role(hr, title="Filled role")
    visitor = Visitor(platform, "198.51.100.12")
    csrf = visitor.form(role["id"])
    closed_csrf = visitor.form(closed["id"])
    assert hr.post(f"/v1/requisitions/{closed['id']}/close", json={"reason": "filled"}).status_code == 200
    pdf = ("cv.pdf", a_pdf("Python, 5 years"), "application/pdf")
    tried = []

    def refused(status: int, answer, *words: str) -> None:
        assert answer.status_code == status, (status, answer.status_code, answer.text[:500])
        for word in words:
            assert word in answer.text

    def as_someone():
        email = f"bad.{secrets.token_hex(3)}@example.com"
        tried.append(email)
        return email

    # A file that is not what its name says: an image called cv.pdf.
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    refused(422, visitor.apply(role["id"], csrf, cv=("cv.pdf", png, "application/pdf"), email=as_someone()),
            'id="err-cv"')
    # Too big: 10 MB and one byte.
    big = b"%PDF-1.4\n" + bytes(10 * 1024 * 1024 - 8)
    refused(413, visitor.apply(role["id"], csrf, cv=("cv.pdf", big, "application/pdf"), email=as_someone()))
    # A required field missing: the name.
    refused(422, visitor.apply(role["id"], csrf, cv=pdf, email=as_someone(), name=None), 'id="err-name"')
    # No CV at all.
    refused(422, visitor.apply(role["id"], csrf, cv=None, email=as_someone()), 'id="err-cv"')
    # A job not published, or closed.
    refused(404, visitor.apply(unpublished["id"], csrf, cv=pdf, email=as_someone()))
    refused(404, visitor.apply(closed["id"], closed_csrf, cv=pdf, email=as_someone()))
    # The honeypot filled (a bot).
    refused(422, visitor.apply(role["id"], csrf, cv=pdf, email=as_someone(), homepage="http://spam.example"))
    # A forged CSRF token.
    refused(403, visitor.apply(role["id"], csrf[:-4] + "AAAA", cv=pdf, email=as_someone()))
    # The public API names the field in the api-v1 error shape.
    api = Visitor(platform, "198.51.100.13").client.post(
        f"/v1/public/jobs/{role['id']}/applications",
        data={"name": "X", "email": as_someone(), "years_experience": "2", "privacy_ack": "true"},
        files={"cv": ("cv.docx", b"MZ\x90\x00" + bytes(100), "application/octet-stream")})
    assert api.status_code == 422 and api.json()["error"]["field"] == "cv", api.text

    # Nothing stored, nobody written to.
    assert applications_of(hr, role["id"]) == []
    assert applications_of(hr, unpublished["id"]) == [] and applications_of(hr, closed["id"]) == []
    assert all(not mail_to(platform, email) for email in tried)

    # A second application to the same job: a friendly page pointing to the portal, still one application.
    twice = Visitor(platform, "198.51.100.15")
    twice_csrf = twice.form(role["id"])
    once = f"twice.{secrets.token_hex(3)}@example.com"
    assert twice.apply(role["id"], twice_csrf, cv=pdf, email=once).status_code == 303
    again = twice.apply(role["id"], twice_csrf, cv=pdf, email=once.upper())
    refused(409, again, "portal")
    assert "Traceback" not in again.text and "duplicate_application" not in again.text
    assert len(applications_of(hr, role["id"])) == 1

    # Too many applications from one address: 429 with Retry-After, and nothing more stored.
    flood = Visitor(platform, "198.51.100.14")
    flood_csrf = flood.form(role["id"])
    answers = [flood.apply(role["id"], flood_csrf, cv=None, email=as_someone()) for _ in range(12)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and "retry-after" in limited[0].headers
    assert len(applications_of(hr, role["id"])) == 1
