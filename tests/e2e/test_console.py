"""The web console and the candidate portal in a real browser: Debian's Chromium driven by Playwright.

One walk through the loop as people do it: HR signs in and opens a requisition; an application arrives and
appears on the open pipeline board by itself (server-sent events); HR schedules the interview; two
interviewers each sign in and submit a scorecard (the other's hidden until theirs is in); HR passes the
candidate and sees the offer among the application's notices; the candidate opens the portal on a phone
and accepts. On the way: keyboard navigation, accessible names on every control of every page (an
axe-style check), the reports page's charts, the approvals queue, the policy editor, the portal in Chinese,
and the session cookie's flags. Screenshots of every page go to test-artifacts/console/.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

import pytest

from tests.e2e.test_hiring_loop import make_key, portal_link
from tests.support.divisions import register_over_api
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.browser]  # `make test-browser`

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root, in a sandbox with no network: no sandboxing of its own, no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# Every control, landmark and chart must have an accessible name; returns what has none.
UNNAMED = """() => {
  const name = (el) => {
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(/\\s+/).map(id => (document.getElementById(id) || {}).textContent || '').join(' ');
    if (el.labels && el.labels.length) return Array.from(el.labels).map(l => l.textContent).join(' ');
    if (el.tagName === 'BUTTON' || el.tagName === 'A' || el.tagName === 'SUMMARY') return el.textContent;
    return el.getAttribute('title') || '';
  };
  const visible = (el) => el.type !== 'hidden' && el.getClientRects().length > 0;
  const controls = document.querySelectorAll('input, select, textarea, button, a[href], summary, svg[role=img], nav');
  return Array.from(controls).filter(visible).filter(el => !name(el).trim())
              .map(el => el.outerHTML.slice(0, 120));
}"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: .ci/run installs it (apt-get install chromium)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def accessible(page, where: str) -> None:
    missing = page.evaluate(UNNAMED)
    assert not missing, f"{where}: controls without an accessible name: {missing}"
    assert page.get_by_role("heading", level=1).count() == 1, f"{where}: one h1 per page"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{where}: scrolls sideways"


def sign_in(browser, base_url: str, key: str, viewport=None, **options):
    """`options`: more of the browser context's (e.g. `timezone_id`, the zone the viewer's browser is in)."""
    context = browser.new_context(base_url=base_url, viewport=viewport or {"width": 1366, "height": 900}, **options)
    page = context.new_page()
    page.goto("/console")
    assert page.url.endswith("/console/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/(requisitions|interviews)$"))
    return context, page


def test_the_hiring_loop_in_the_console_and_the_portal(platform, browser):
    admin = platform.client()
    division = f"cafe-{secrets.token_hex(3)}"
    register_over_api(admin, division)  # registered divisions only (issue 20)
    keys = {name: make_key(admin, name, role, [division]) for name, role in
            [("hanna", "hr"), ("remy", "recruiter"), ("ines", "interviewer"), ("oskar", "interviewer")]}
    recruiter = platform.client(keys["remy"])

    # --- sign-in: a wrong key is refused; the keyboard alone signs in; the cookie is HttpOnly and SameSite
    context = browser.new_context(base_url=platform.base_url, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto("/console/login")
    accessible(page, "login")
    shot(page, "01-login")
    page.get_by_label("API key").fill("hl_not_a_key")
    page.get_by_role("button", name="Sign in").click()
    assert "not valid" in page.get_by_role("alert").inner_text()
    page.keyboard.press("Tab")  # the skip link comes first, then the form
    page.get_by_label("API key").focus()
    page.keyboard.type(keys["hanna"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/console/requisitions$"))
    cookie = next(c for c in context.cookies() if c["name"] == "hireloop_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert keys["hanna"] not in cookie["value"]
    assert page.get_by_role("navigation", name="Console").get_by_role("link", name="Requisitions") \
        .get_attribute("aria-current") == "page"

    # --- a form post without the session's CSRF token changes nothing
    forged = context.request.post(f"{platform.base_url}/console/requisitions", form={
        "title": "Forged", "division": division, "department": "x", "tier": "basic", "required_skills": "a"},
        max_redirects=0)
    assert forged.status == 403
    assert admin.get("/v1/requisitions", params={"division": division}).json()["items"] == []

    # --- HR opens a requisition with the form
    form = page.get_by_role("region", name="Open a requisition")
    form.get_by_label("Title").fill("Barista")
    form.get_by_label("Division").fill(division)
    form.get_by_label("Department").fill("stores")
    form.get_by_label("Required skills").fill("coffee, customer service")
    form.get_by_label("Nice-to-have skills").fill("latte art")
    form.get_by_label("Minimum years").fill("1")
    accessible(page, "requisitions")
    shot(page, "01b-requisitions")
    form.get_by_role("button", name="Open requisition").click()
    page.wait_for_url(re.compile(r"/console/requisitions/req_"))
    assert "opened" in page.get_by_role("status").first.inner_text()
    req_id = page.url.rsplit("/", 1)[1]
    accessible(page, "requisition")
    shot(page, "02-requisition")

    # --- the board, open while an application arrives: the card appears by itself
    page.get_by_role("link", name="Open the pipeline board").click()
    page.wait_for_url(re.compile(r"/board$"))
    page.locator("#board[data-live='on']").wait_for()
    page.evaluate("window.__not_reloaded = true")
    applied = recruiter.post("/v1/applications", json={
        "requisition_id": req_id, "source": "referral", "talent_pool_consent": True,
        "candidate": {"name": "Mei Lin", "email": f"mei.{division}@example.com", "years_experience": 3,
                      "skills": ["coffee", "customer service", "latte art"]}})
    assert applied.status_code == 202, applied.text
    app_id = applied.json()["id"]
    card = page.locator(f"#col-shortlisted ~ ul [data-application='{app_id}']")
    card.wait_for(timeout=20_000)
    assert page.evaluate("window.__not_reloaded === true"), "the board must update without a reload"
    assert "Mei Lin" in card.inner_text() and "match 100 %" in card.inner_text()
    accessible(page, "board")
    shot(page, "03-board-shortlisted")

    # --- HR schedules the interview on the application page
    card.get_by_role("link", name="Mei Lin").click()
    page.wait_for_url(re.compile(rf"/console/applications/{app_id}$"))
    assert "Passed" in page.get_by_role("region", name="Screening").inner_text()
    page.get_by_label("Interviewers").fill("ines, oskar")
    page.get_by_label("Competencies").fill("craft, service")
    page.get_by_label("When (UTC)").fill("2026-12-01T09:00")
    accessible(page, "application, shortlisted")
    page.get_by_role("button", name="Schedule interview").click()
    assert "Interview scheduled" in page.get_by_role("status").first.inner_text()

    # --- two interviewers, each in their own browser, each sees only their own card until it is in
    cards = {"ines": ({"craft": "5", "service": "4"}, "strong_yes", "Perfect milk texturing"),
             "oskar": ({"craft": "3", "service": "4"}, "yes", "Calm under a rush")}
    for n, (name, (ratings, recommendation, highlight)) in enumerate(cards.items()):
        ctx, ipage = sign_in(browser, platform.base_url, keys[name])
        assert ipage.get_by_role("heading", level=1).inner_text() == "My interviews"
        accessible(ipage, "my interviews")
        if n == 0:
            shot(ipage, "03b-my-interviews")
        assert ipage.get_by_role("navigation", name="Console").get_by_role("link", name="Requisitions").count() == 0
        ipage.get_by_role("link", name=re.compile("^Interview int_")).first.click()
        if n == 0:
            assert "No scorecards to show yet" in ipage.get_by_role("region", name="Scorecards").inner_text()
        else:  # ines's card is in, but hidden from oskar until his own is
            assert "ines" not in ipage.get_by_role("region", name="Scorecards").inner_text()
        for competency, rating in ratings.items():
            ipage.get_by_role("group", name=competency).get_by_role("radio", name=rating).check()
        ipage.get_by_label("Recommendation").select_option(recommendation)
        ipage.get_by_label("Highlights (one per line)").fill(highlight)
        accessible(ipage, f"interview ({name})")
        if n == 0:
            shot(ipage, "04-scorecard-form")
        ipage.get_by_role("button", name="Submit scorecard").click()
        assert "Scorecard submitted" in ipage.get_by_role("status").first.inner_text()
        visible = ipage.get_by_role("region", name="Scorecards").inner_text()
        assert name in visible and (n == 0) == ("oskar" not in visible)
        if n == 1:
            summary = ipage.get_by_role("region", name="Summary").inner_text()
            assert "ines" in visible and "rating discrepancy" in summary
            shot(ipage, "05-interview-complete")
        ctx.close()

    # --- HR decides: the offer is among the application's notices, with the evidence
    page.goto(f"/console/requisitions/{req_id}/board")
    interviewed = page.locator(f"#col-interviewed ~ ul [data-application='{app_id}']")
    interviewed.wait_for(timeout=20_000)
    assert "interview avg 4.0" in interviewed.inner_text() and "rating discrepancy" in interviewed.inner_text()
    shot(page, "06-board-interviewed")
    interviewed.get_by_role("link", name="Mei Lin").click()
    page.get_by_role("button", name="Pass").click()
    assert "Decision recorded: offered" in page.get_by_role("status").first.inner_text()

    def offer_row():
        page.reload()
        return page.locator("table.notices tr[data-kind='offer']")
    row = wait_for(offer_row, lambda r: r.count() == 1 and "sent" in r.inner_text(), timeout=30, interval=1,
               what="offer sent")
    row.locator("summary").click()
    body = row.locator("pre").inner_text()
    assert "4.0" in body and "100" in body and "Perfect milk texturing" in body
    accessible(page, "application, offered")
    shot(page, "07-application-offered")
    link = portal_link(body)
    page.get_by_label("Note").fill("start date agreed")
    page.get_by_role("button", name="Confirmed by phone").click()
    assert "Phone confirmation recorded" in page.get_by_role("status").first.inner_text()
    assert "confirmed" in page.get_by_role("region", name="Offer follow-up").inner_text()

    # --- the candidate opens the portal on a phone, in Chinese first, and accepts
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                locale="zh-CN")
    portal = phone.new_page()
    portal.goto(link)
    assert portal.locator("html").get_attribute("lang") == "zh-CN"
    assert "恭喜您获得录用通知" in portal.get_by_role("status").first.inner_text()
    accessible(portal, "portal zh-CN")
    shot(portal, "08-portal-zh-CN-phone")
    portal.get_by_role("link", name="English").click()
    assert "You have an offer" in portal.get_by_role("status").first.inner_text()
    shot(portal, "09-portal-en-phone")
    portal.get_by_role("button", name="Accept").click()
    portal.locator(".status-line", has_text="accepted").wait_for(timeout=15_000)
    phone.close()
    assert wait_for(lambda: recruiter.get(f"/v1/applications/{app_id}").json(),
                    lambda a: a["status"] == "accepted", what="accepted")["status"] == "accepted"

    # --- the rest of HR's console: approvals queue, policy editor, reports with charts
    page.get_by_role("link", name="Approvals").click()
    accessible(page, "approvals")
    shot(page, "10-approvals")
    page.get_by_role("link", name="Policies").click()
    page.wait_for_url(re.compile(rf"/console/policies/{division}$"))
    page.get_by_label("guide after (seconds)").fill("7200")
    accessible(page, "policy")
    shot(page, "10b-policy")
    page.get_by_role("button", name="Save policy").click()
    assert "saved" in page.get_by_role("status").first.inner_text()
    hr_api = platform.client(keys["hanna"])
    assert hr_api.get(f"/v1/notification-policies/{division}").json()["guide_after"] == 7200
    page.goto(f"/console/reports?division={division}")
    charts = page.get_by_role("img")
    assert charts.count() >= 5
    funnel = page.get_by_role("img", name=re.compile("Hiring funnel"))
    assert "offered" in funnel.text_content()  # this division's application reached the offer
    accessible(page, "reports")
    shot(page, "11-reports")

    # --- keyboard: the skip link is the first stop and lands on the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"

    # --- signing out ends the session on the server: the old cookie opens nothing
    old = next(c for c in context.cookies() if c["name"] == "hireloop_session")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/login"))
    replay = browser.new_context(base_url=platform.base_url)
    replay.add_cookies([old])
    stale = replay.new_page()
    stale.goto("/console/requisitions")
    assert stale.url.endswith("/console/login?next=/console/requisitions")
    replay.close()
    context.close()


def test_a_division_sees_only_its_own_boards_in_the_console(platform, browser):
    admin = platform.client()
    mine, theirs = f"tea-{secrets.token_hex(3)}", f"tea-{secrets.token_hex(3)}"
    register_over_api(admin, mine, theirs)  # registered divisions only (issue 20)
    other_hr = make_key(admin, "olav", "hr", [theirs])
    req = admin.post("/v1/requisitions", json={"title": "Tea master", "division": mine, "department": "shop",
                                               "tier": "basic", "required_skills": ["tea"]}).json()
    context, page = sign_in(browser, platform.base_url, other_hr)
    for path in (f"/console/requisitions/{req['id']}", f"/console/requisitions/{req['id']}/board"):
        response = page.goto(path)
        assert response.status == 404 and "Not found" in page.get_by_role("heading", level=1).inner_text()
    stream = context.request.get(f"{platform.base_url}/console/requisitions/{req['id']}/stream")
    assert stream.status == 404
    context.close()


def test_urgent_role_resurfaces_the_pool_and_core_approvals_run_from_the_queue(platform, browser):
    from tests.e2e.test_hiring_loop import app_status, interview_and_pass

    admin = platform.client()
    division = f"deli-{secrets.token_hex(3)}"
    register_over_api(admin, division)  # registered divisions only (issue 20)
    skill = f"sourdough-{secrets.token_hex(3)}"  # only this test's candidates have it
    hr = platform.client(make_key(admin, "hedda", "hr", [division]))
    hr_key = make_key(admin, "hugo", "hr", [division])
    recruiter = platform.client(make_key(admin, "rafa", "recruiter", [division]))
    taster = platform.client(make_key(admin, "tove", "interviewer", [division]))

    def passed_candidate(tier: str, name: str) -> dict:
        req = hr.post("/v1/requisitions", json={"title": f"Baker ({tier})", "division": division,
                                                "department": "bakery", "tier": tier,
                                                "required_skills": [skill]}).json()
        app = recruiter.post("/v1/applications", json={
            "requisition_id": req["id"], "source": "job_board", "talent_pool_consent": True,
            "candidate": {"name": name, "email": f"{name.split()[0].lower()}.{division}@example.com",
                          "skills": [skill], "years_experience": 4}}).json()
        wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
        interview_and_pass(recruiter, hr, taster, "tove", app["id"], 5, "strong_yes")
        return app

    # --- a basic pass declined on the portal: pooled
    declined = passed_candidate("basic", "Ada Brot")
    offer = wait_for(lambda: hr.get(f"/v1/applications/{declined['id']}/notifications").json(),
                     lambda ns: any(n["kind"] == "offer" for n in ns), what="offer")
    link = portal_link(next(n for n in offer if n["kind"] == "offer")["body"])
    assert platform.client().post(link.split(platform.base_url, 1)[1] + "/response",
                                  json={"response": "decline"}).status_code == 200
    wait_for(lambda: recruiter.get("/v1/talent-pool", params={"skill": skill}).json()["items"],
             lambda items: any(e["candidate_id"] == declined["candidate_id"] for e in items), what="pooled")

    # --- HR opens an urgent requisition in the console: the pool re-surfaces Ada, with reasons
    context, page = sign_in(browser, platform.base_url, hr_key)
    form = page.get_by_role("region", name="Open a requisition")
    form.get_by_label("Title").fill("Head baker")
    form.get_by_label("Division").fill(division)
    form.get_by_label("Department").fill("flagship")
    form.get_by_label("Urgent").check()
    form.get_by_label("Required skills").fill(skill)
    form.get_by_role("button", name="Open requisition").click()
    page.wait_for_url(re.compile(r"/console/requisitions/req_"))
    urgent_id = page.url.rsplit("/", 1)[1]
    wait_for(lambda: hr.get(f"/v1/requisitions/{urgent_id}/matches").json(),
             lambda m: isinstance(m, list) and len(m) == 1, what="matches")
    page.reload()
    matches = page.get_by_role("region", name="Re-surfaced from the talent pool")
    assert "Ada Brot" in matches.inner_text() and "declined" in matches.inner_text()
    assert matches.get_by_role("listitem").filter(has_text="Ada Brot").locator("ul.reasons li").count() >= 1
    accessible(page, "urgent requisition with matches")
    shot(page, "12-urgent-requisition-matches")
    matches.get_by_role("button", name="Re-engage Ada Brot").click()
    assert "Re-engagement sent" in page.get_by_role("status").first.inner_text()
    assert wait_for(lambda: recruiter.get(f"/v1/candidates/{declined['candidate_id']}/notifications").json(),
                    lambda ns: any(n["kind"] == "reengagement" for n in ns), what="re-engagement notice")

    # --- a core pass: an approval chain; with a 1-second SLA its first step is overdue at once
    assert hr.put(f"/v1/notification-policies/{division}", json={"approval_sla": 1}).status_code == 200
    core = passed_candidate("core", "Bea Korn")
    wait_for(lambda: app_status(hr, core["id"]), lambda a: a["status"] == "awaiting_approval", what="approvals")
    page.goto("/console/approvals")
    row = page.get_by_role("row").filter(has_text="Bea Korn")
    wait_for(lambda: (page.reload(), row.inner_text())[1], lambda text: "overdue" in text, interval=1,
             what="overdue step")
    assert "Division HR review" in row.inner_text()
    accessible(page, "approvals queue")
    shot(page, "13-approvals-overdue")
    row.get_by_role("button", name="Approve step 1 for Bea Korn").click()
    assert "Approval step 1 approved" in page.get_by_role("status").first.inner_text()
    context.close()

    # --- group HR sees step 2 and approves it: the offer follows
    admin_context, admin_page = sign_in(browser, platform.base_url, platform.admin_key)
    admin_page.goto(f"/console/approvals?division={division}")
    admin_page.get_by_role("button", name="Approve step 2 for Bea Korn").click()
    assert "Approval step 2 approved" in admin_page.get_by_role("status").first.inner_text()
    assert wait_for(lambda: app_status(hr, core["id"]), lambda a: a["status"] == "offered", what="offered")
    admin_page.goto(f"/console/applications/{core['id']}")
    approvals = admin_page.get_by_role("region", name="Approvals").inner_text()
    assert approvals.count("approved") == 2 and "by hugo" in approvals and "by bootstrap-admin" in approvals
    admin_context.close()


def test_the_api_docs_render_offline_and_the_root_and_unknown_pages_lead_back_to_the_console(platform, browser):
    context = browser.new_context(base_url=platform.base_url, viewport={"width": 1366, "height": 900})
    origin = platform.base_url.rstrip("/")
    elsewhere: list[str] = []

    def offline(route):  # as on a network with no way out: anything not from the gateway fails
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    context.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation', "
                            "e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI))")
    page = context.new_page()
    page.goto("/docs")
    spec = platform.client("").get("/openapi.json").json()
    operations = sum(1 for item in spec["paths"].values() for method in item
                     if method in ("get", "post", "put", "patch", "delete"))
    page.wait_for_function(f"document.querySelectorAll('.opblock').length >= {operations}")
    page.locator(".opblock-summary").first.click()
    page.get_by_role("button", name="Try it out").first.click()
    assert page.locator(".opblock").count() == operations
    assert page.evaluate("window.__violations") == [] and elsewhere == []
    shot(page, "20-api-docs")

    page.goto("/")
    assert page.url.endswith("/console/login")
    page.goto("/console/no-such-page")
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    accessible(page, "console 404")
    page.get_by_role("link", name="Back to the console").click()
    assert page.url.endswith("/console/login")
    context.close()
