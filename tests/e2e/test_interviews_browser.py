"""Self-scheduling in a real browser (Debian's Chromium, driven by Playwright), on a phone, in both languages: the
recruiter offers three times for an interview in Shanghai; the candidate opens their portal link, sees each time
in words in the interview's zone with the zone named, (in Chinese, first asks for other times,) picks one with a
radio and the confirm button, and then sees the interview: when, how, where, what to bring. The interviewer
signs in from London and sees whom (the candidate's name and CV), for which role, the kit, and the time both in
the interview's zone and in their own. Screenshots go to test-artifacts/console/.

The portal link comes from the email that offers the slots. Then the interviewer's scorecard, HR's pass with the
offer's terms, and the candidate, on the phone again, reads the terms, chooses a start date, confirms, and has
accepted; the offer letter downloads."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from shared.interview_time import when_text
from tests.e2e.test_console import accessible, browser, shot, sign_in  # noqa: F401 - `browser` is a fixture
from tests.e2e.test_hiring_loop import app_status, find_mail, make_key, portal_link
from tests.support.divisions import register_over_api
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.browser]  # `make test-browser`

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
ZONE = "Asia/Shanghai"
WORDS = {
    "en": {"pick": "Choose a time for your interview", "confirm": "Confirm this time",
           "choose": "Please choose a time first.", "booked": "Thank you. Your interview is booked.",
           "yours": "Your interview", "onsite": "In person", "other": "None of these times suit me",
           "note": "When would suit you? (optional)", "ask": "Ask for other times",
           "asked": "Thank you. We will offer you other times soon.",
           "requested": "You asked for other times. We will send you new ones.",
           "status": "Your interview is scheduled.", "offer": "Your offer", "accept": "Accept the offer",
           "confirm_title": "Please confirm", "yes": "Yes, I accept",
           "letter": "Download the offer letter (PDF)"},
    "zh-CN": {"pick": "选择面试时间", "confirm": "确认此时间", "choose": "请先选择一个时间。",
              "booked": "谢谢，您的面试已预约。", "yours": "您的面试", "onsite": "现场面试",
              "other": "这些时间都不合适",
              "note": "什么时间适合您？（选填）", "ask": "申请其他时间", "asked": "谢谢，我们会尽快为您提供其他时间。",
              "requested": "您已申请其他时间，我们会尽快发送新的时间给您。", "status": "您的面试已安排。",
              "offer": "您的录用条件", "accept": "接受录用", "confirm_title": "请确认", "yes": "确认接受",
              "letter": "下载录用通知书（PDF）"},
}


def offered_slots(days_ahead: int) -> list[datetime]:
    """Three times on one day some days ahead, at 01:00, 02:30 and 06:00 UTC (09:00, 10:30, 14:00 in Shanghai)."""
    day = (datetime.now(UTC) + timedelta(days=days_ahead)).replace(hour=0, minute=0, second=0, microsecond=0)
    return [day + timedelta(hours=1), day + timedelta(hours=2, minutes=30), day + timedelta(hours=6)]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_candidate_picks_a_slot_on_a_phone_and_the_interviewer_sees_whom_when_and_the_kit(
        platform, browser, locale):  # noqa: F811 - the fixture imported above
    tag = locale.lower().replace("-", "") + secrets.token_hex(2)
    division = f"slots-{tag}"
    words = WORDS[locale]
    admin = platform.client()
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(make_key(admin, f"hale{tag}", "hr", [division]))
    recruiter = platform.client(make_key(admin, f"rosa{tag}", "recruiter", [division]))
    interviewer_name = f"ivan{tag}"
    interviewer_key = make_key(admin, interviewer_name, "interviewer", [division])

    # --- HR opens the role and writes its kit; an application with a CV is shortlisted
    req = hr.post("/v1/requisitions", json={"title": "Roastery lead", "division": division, "department": "coffee",
                                            "tier": "basic", "required_skills": ["roasting"]}).json()
    kit = {"competencies": {"Roasting": {"questions": ["Walk me through a light roast profile"],
                                         "guidance": "Listen for first crack timing"},
                            "Team": {"questions": ["Tell me about a busy Saturday"], "guidance": ""}}}
    assert hr.put(f"/v1/requisitions/{req['id']}/kit", json=kit).status_code == 200
    name = "Lin Mei" if locale == "en" else "林美"
    applied = recruiter.post("/v1/applications", json={
        "requisition_id": req["id"], "source": "referral",
        "candidate": {"name": name, "email": f"lin.{tag}@example.com", "years_experience": 4,
                      "skills": ["roasting"]}})
    assert applied.status_code == 202, applied.text
    app_id = applied.json()["id"]
    wait_for(lambda: app_status(recruiter, app_id), lambda a: a["status"] == "shortlisted", what="shortlisted")
    cv = recruiter.post(f"/v1/applications/{app_id}/documents", data={"kind": "cv"},
                        files={"file": (f"{tag}-cv.txt", b"Lin Mei\nHead roaster, 4 years.\n", "text/plain")})
    assert cv.status_code == 201, cv.text

    # --- the recruiter offers three times in Shanghai, 45 minutes each, in person
    slots = offered_slots(9 if locale == "en" else 10)
    offered = recruiter.post(f"/v1/applications/{app_id}/interviews", json={
        "interviewers": [interviewer_name], "competencies": ["Roasting", "Team"], "slots": [iso(s) for s in slots],
        "duration_minutes": 45, "timezone": ZONE, "format": "onsite", "location": "Roastery, 18 Fumin Rd",
        "instructions": "Ask for Rosa at the front desk."})
    assert offered.status_code == 201, offered.text
    interview_id = offered.json()["id"]
    texts = [when_text(s, 45, ZONE, locale) for s in slots]
    wait_for(lambda: app_status(recruiter, app_id), lambda a: a["status"] == "interviewing", what="interviewing")

    # --- the candidate opens the link of the email that offers the times, on a phone: each time in words in
    # Shanghai's zone, one radio each
    link = portal_link(platform.mail_body(find_mail(platform, f"lin.{tag}@example.com", "")[0]))
    phone = browser.new_context(locale=locale, timezone_id="Europe/Paris", **PHONE)
    page = phone.new_page()
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == locale
    section = page.get_by_role("region", name=words["pick"], exact=True)
    radios = section.get_by_role("radio")
    assert radios.count() == 3
    for text in texts:
        assert section.get_by_role("radio", name=text).count() == 1, text
    assert f"({ZONE}, UTC+08:00)" in texts[0] or f"（{ZONE}，UTC+08:00）" in texts[0]
    accessible(page, f"portal slots ({locale})")
    shot(page, f"interview-slots-{locale}")

    section.get_by_role("button", name=words["confirm"]).click()  # nothing chosen yet: asked to choose
    assert words["choose"] in section.get_by_role("status").first.inner_text()

    if locale == "zh-CN":  # first none suits: the candidate asks for other times, then picks one anyway
        section.get_by_text(words["other"]).click()
        section.get_by_label(words["note"]).fill("工作日晚上更方便")
        section.get_by_role("button", name=words["ask"]).click()
        page.get_by_text(words["asked"]).wait_for()
        page.wait_for_load_state("load")
        page.get_by_text(words["requested"]).wait_for(timeout=10_000)
        section = page.get_by_role("region", name=words["pick"], exact=True)
        assert section.get_by_role("button", name=words["ask"]).count() == 0

    section.get_by_role("radio", name=texts[1]).check()
    section.get_by_role("button", name=words["confirm"]).click()
    page.get_by_text(words["booked"]).wait_for()
    booked = page.get_by_role("region", name=words["yours"], exact=True)
    booked.wait_for(timeout=10_000)  # the page reloads itself with the booked interview
    shown = booked.inner_text()
    for text in (texts[1], words["onsite"], "Roastery, 18 Fumin Rd", "Ask for Rosa at the front desk."):
        assert text in shown, (text, shown)
    assert page.get_by_role("radio").count() == 0
    assert words["status"] in page.get_by_role("status").first.inner_text()
    accessible(page, f"portal booked ({locale})")
    shot(page, f"interview-booked-{locale}")
    phone.close()
    picked = recruiter.get(f"/v1/interviews/{interview_id}").json()
    assert picked["status"] == "scheduled" and picked["starts_at"] == iso(slots[1]), picked

    # --- the interviewer, signed in from London, sees whom, for which role, the CV, the kit and the time
    interviewer = platform.client(interviewer_key)
    wait_for(lambda: interviewer.get(f"/v1/applications/{app_id}/documents").status_code, lambda s: s == 200,
             what="the panel may read the CV")  # sourcing learns the panel from interview_scheduled
    context, ipage = sign_in(browser, platform.base_url, interviewer_key, timezone_id="Europe/London")
    ipage.get_by_role("link", name=re.compile(f"^Interview {interview_id}")).click()
    ipage.wait_for_url(re.compile(rf"/console/interviews/{interview_id}$"))
    brief = ipage.get_by_role("region", name=re.compile(re.escape(name)))
    text = brief.inner_text()
    for expected in (name, "Roastery lead", when_text(slots[1], 45, ZONE, "en"), "Roastery, 18 Fumin Rd",
                     "Walk me through a light roast profile", "Listen for first crack timing",
                     "Tell me about a busy Saturday"):
        assert expected in text, (expected, text)
    yours = brief.locator("[data-your-time]")
    yours.wait_for()  # filled in by console.js from the browser's zone
    assert yours.inner_text().split("\n")[-1].strip() == when_text(slots[1], 45, "Europe/London", "en")
    assert brief.get_by_role("link", name=f"CV: {tag}-cv.txt").get_attribute("href").startswith("/console/documents/")
    assert brief.get_by_role("article", name="Kit: Roasting").count() == 1
    accessible(ipage, f"interviewer's page ({locale})")
    shot(ipage, f"interview-panel-{locale}")
    download = context.request.get(platform.base_url + brief.get_by_role("link", name=f"CV: {tag}-cv.txt")
                                   .get_attribute("href"))
    assert download.status == 200 and b"Head roaster" in download.body()
    context.close()

    # --- the interview is held; HR passes the candidate with the offer's terms
    assert interviewer.post(f"/v1/interviews/{interview_id}/scorecards", json={
        "interviewer": interviewer_name, "ratings": {"Roasting": 5, "Team": 4},
        "recommendation": "strong_yes"}).status_code == 201
    wait_for(lambda: app_status(hr, app_id), lambda a: a["status"] == "interviewed", what="interviewed")
    starts = [(datetime.now(UTC) + timedelta(days=d)).date().isoformat() for d in (30, 44)]
    decided = hr.post(f"/v1/applications/{app_id}/decision", json={"outcome": "pass", "offer": {
        "salary": {"amount": 240000, "currency": "CNY", "period": "year"}, "start_date_options": starts,
        "expires_at": iso(datetime.now(UTC) + timedelta(days=7)), "message": "We would love to roast with you."}})
    assert decided.status_code == 200, decided.text
    wait_for(lambda: app_status(hr, app_id), lambda a: a["status"] == "offered", what="offered")

    # --- on the phone again: the terms, a start date chosen, a confirmation step, accepted
    phone = browser.new_context(locale=locale, **PHONE)
    page = phone.new_page()
    page.goto(link)
    offer = page.get_by_role("region", name=words["offer"], exact=True)
    assert "240,000" in offer.inner_text() and "CNY" in offer.inner_text()
    with page.expect_download() as letter:
        offer.get_by_role("link", name=words["letter"]).click()
    assert letter.value.suggested_filename.endswith(".pdf")
    offer.get_by_role("radio", name=starts[1]).check()
    accessible(page, f"portal offer ({locale})")
    shot(page, f"offer-terms-{locale}")
    offer.get_by_role("button", name=words["accept"]).click()
    dialog = page.get_by_role("dialog", name=words["confirm_title"])
    assert starts[1] in dialog.inner_text()
    dialog.get_by_role("button", name=words["yes"]).click()
    accepted = wait_for(lambda: app_status(hr, app_id), lambda a: a["status"] == "accepted", what="accepted")
    assert accepted["offer"]["accepted_start_date"] == starts[1]
    page.reload()
    assert starts[1] in page.get_by_role("region", name=words["offer"], exact=True).inner_text()
    shot(page, f"offer-accepted-{locale}")
    phone.close()
