"""The careers site in a real browser (Debian's Chromium, driven by Playwright), on a phone, in both languages:
a published role appears on `/careers`; a candidate opens it, applies with a real PDF CV made here, and lands
on the confirmation page; the acknowledgement email in their language carries their portal link; the recruiter
signs in to the console and sees the application with source `careers`, the CV, the skills found in it that
the candidate did not type, and a screening that used them. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.e2e.test_careers import a_pdf
from tests.e2e.test_console import ARTIFACTS, accessible, browser, shot, sign_in  # noqa: F401 - `browser` is a fixture
from tests.e2e.test_hiring_loop import app_status, find_mail, make_key, portal_link
from tests.support.divisions import register_over_api
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.browser]  # `make test-browser`

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
WORDS = {"en": {"apply": "Apply", "received": "We received your application", "found": "Found in the CV"},
         "zh-CN": {"apply": "申请", "received": "我们已收到您对", "found": "Found in the CV"}}


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_candidate_applies_on_a_phone_with_a_pdf_cv_and_the_recruiter_sees_what_the_cv_added(
        platform, browser, locale):  # noqa: F811 - the fixture imported above
    tag = locale.lower().replace("-", "")
    division = f"careers-browser-{tag}"
    admin = platform.client()
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(make_key(admin, f"hedy{tag}", "hr", [division]))
    recruiter_key = make_key(admin, f"remy{tag}", "recruiter", [division])
    recruiter = platform.client(recruiter_key)
    title = f"Cloud Engineer {secrets.token_hex(2)}"
    role = hr.post("/v1/requisitions", json={
        "title": title, "division": division, "department": "platform", "tier": "basic",
        "required_skills": ["Python"], "skills": ["Kubernetes", "Terraform"], "location": "Shanghai",
        "description": "Build the **platform**.\n\n- on call one week in six\n- [our stack](https://example.com)",
        "salary_range": {"min": 300000, "max": 420000, "currency": "CNY", "period": "year"}}).json()
    # Published by HR's edit: the role is on the careers site from then on.
    published = hr.patch(f"/v1/requisitions/{role['id']}", json={"published": True})
    assert published.status_code == 200 and published.json()["published"] is True, published.text

    phone = browser.new_context(base_url=platform.base_url, locale=locale, **PHONE)
    page = phone.new_page()
    page.goto(f"/careers?division={division}&lang={locale}")
    assert page.locator("html").get_attribute("lang") == locale
    page.get_by_role("link", name=re.compile(re.escape(title))).click()
    page.wait_for_url(re.compile(rf"/careers/jobs/{role['id']}"))
    accessible(page, f"job page ({locale})")
    shot(page, f"careers-job-{tag}")
    page.get_by_role("link", name=re.compile(WORDS[locale]["apply"])).first.click()
    page.wait_for_url(re.compile(rf"/careers/jobs/{role['id']}/apply"))
    accessible(page, f"application form ({locale})")

    email = f"mei.{tag}.{secrets.token_hex(3)}@example.com"
    page.locator("#f-name").fill("Mei Cloud")
    page.locator("#f-email").fill(email)
    page.locator("#f-years_experience").fill("5")
    page.locator("#f-skills").fill("Python")
    page.locator("#f-cv").set_input_files({
        "name": "mei-cv.pdf", "mimeType": "application/pdf",
        "buffer": a_pdf("Mei Cloud", "Python, Kubernetes and Terraform on three clouds.", "5 years of experience.")})
    page.locator("#f-privacy_ack").check()
    shot(page, f"careers-apply-{tag}")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/careers/jobs/{role['id']}/applied"))
    assert email not in page.url
    accessible(page, f"confirmation ({locale})")
    shot(page, f"careers-applied-{tag}")
    phone.close()

    # The acknowledgement, in the candidate's language, with their portal link.
    [ack] = find_mail(platform, email, WORDS[locale]["received"])
    assert "/portal/" in portal_link(platform.mail_body(ack))

    # The recruiter's console: the application, its source, the CV and what screening made of it.
    [app] = [a for a in recruiter.get(f"/v1/requisitions/{role['id']}/applications").json()["items"]]
    assert app["source"] == "careers"
    screened = wait_for(lambda: app_status(recruiter, app["id"]),
                        lambda a: a["screening"] and a["status"] != "received", what="screened")
    assert screened["status"] == "shortlisted"
    assert {s.casefold() for s in screened["screening"]["skills_from_cv"]} == {"kubernetes", "terraform"}
    wait_for(lambda: recruiter.get(f"/v1/applications/{app['id']}/documents").json()["items"],
             lambda items: items and items[0]["text_status"] == "extracted", what="the CV read")
    context, console = sign_in(browser, platform.base_url, recruiter_key)
    console.goto(f"/console/applications/{app['id']}")
    body = console.locator("main")
    assert "source careers" in body.inner_text()
    documents = console.locator("table.documents")
    assert "mei-cv.pdf" in documents.inner_text()
    assert re.search(r"Kubernetes", documents.inner_text(), re.I)
    assert WORDS[locale]["found"] in body.inner_text()
    accessible(console, f"application page ({locale})")
    shot(console, f"careers-console-application-{tag}")
    with console.expect_download() as download:
        console.get_by_role("link", name="mei-cv.pdf").click()
    assert download.value.suggested_filename == "mei-cv.pdf"
    context.close()
    assert (ARTIFACTS / f"careers-applied-{tag}.png").exists()
