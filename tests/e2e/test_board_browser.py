"""The pipeline board of issue 20 in a real browser (Debian's Chromium driven by Playwright) on the whole platform:
200 applications made through the API and spread over the columns by what really moves them (screening passes or
screens out, interviews scheduled, withdrawals); at 1280 px every column is in view side by side, each shows its
first 20 cards and "Show more" adds the next; the filters (source, screening, tag) and the order (best match
first) change what the columns hold; a bulk tag, after its confirmation page, lands on the cards and in each
application's tag history; on a phone the columns scroll sideways, the page itself does not. Screenshots go to
test-artifacts/console/ (board-*.png)."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.e2e import test_console as console_walk
from tests.e2e.test_hiring_loop import make_key
from tests.support.divisions import register_over_api
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.browser]  # `make test-browser`

browser = console_walk.browser  # the same headless Chromium fixture
accessible, shot, sign_in = console_walk.accessible, console_walk.shot, console_walk.sign_in
COLUMNS = ["received", "shortlisted", "interviewing", "interviewed", "awaiting_approval", "offered", "accepted",
           "hired", "ended"]
SOURCES = ["careers", "referral", "job_board"]


def nice_skills(i: int) -> list[str]:
    # match %: coffee alone 33, with latte art 67, with espresso too 100
    return [["coffee"], ["coffee", "latte art"], ["coffee", "latte art", "espresso"]][i % 3 if i % 5 else 2]


def test_a_board_of_200_applications_at_1280_px_filters_sorts_pages_and_tags_in_bulk(platform, browser):
    admin = platform.client()
    division = f"board-{secrets.token_hex(3)}"
    register_over_api(admin, division)
    hr_key = make_key(admin, "hedda", "hr", [division])
    hr = platform.client(hr_key)
    recruiter = platform.client(make_key(admin, "rosa", "recruiter", [division]))
    make_key(admin, "ines", "interviewer", [division])  # the panel of the interviews below
    req = hr.post("/v1/requisitions", json={"title": "Barista", "division": division, "department": "stores",
                                            "tier": "basic", "required_skills": ["coffee"],
                                            "skills": ["latte art", "espresso"]}).json()
    pipeline = f"/v1/requisitions/{req['id']}/pipeline"

    # --- 200 applications: one in four without the required skill (screened out), the rest shortlisted
    made = []
    for i in range(200):
        skills = ["tea"] if i % 4 == 3 else nice_skills(i)
        r = recruiter.post("/v1/applications", json={
            "requisition_id": req["id"], "source": SOURCES[i % 3],
            "candidate": {"name": f"Person {i:03d}", "email": f"p{i}.{division}@example.com", "skills": skills,
                          "years_experience": 2}})
        assert r.status_code == 202, r.text
        made.append(r.json()["id"])
    wait_for(lambda: hr.get(pipeline).json(), lambda p: p["total"] == 200 and not p["counts"].get("received"),
             timeout=120, what="200 applications screened")
    # --- spread further: 6 interviews scheduled, 10 withdrawn
    shortlisted = [a for i, a in enumerate(made) if i % 4 != 3]
    for app_id in shortlisted[:6]:
        r = recruiter.post(f"/v1/applications/{app_id}/interviews", json={
            "interviewers": ["ines"], "scheduled_at": "2027-03-01T09:00:00Z", "competencies": ["craft"],
            "allow_clash": True})
        assert r.status_code == 201, r.text
    for app_id in shortlisted[6:16]:
        assert hr.post(f"/v1/applications/{app_id}/outcome", json={"outcome": "withdrawn"}).status_code == 200
    counts = wait_for(lambda: hr.get(pipeline).json()["counts"],
                      lambda c: c.get("interviewing") == 6 and c.get("withdrawn") == 10, what="the spread")
    assert counts == {"shortlisted": 134, "interviewing": 6, "withdrawn": 10, "screened_out": 50}

    # --- 1280 px: every column in view, side by side, 20 cards each at first
    context, page = sign_in(browser, platform.base_url, hr_key, viewport={"width": 1280, "height": 900})
    page.goto(f"/console/requisitions/{req['id']}/board")
    page.locator("#board[data-live='on']").wait_for()
    for status in COLUMNS:
        box = page.locator(f"#col-{status}").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1280, (status, box)
        assert page.locator(f"#col-{status}").is_visible()
    assert page.evaluate("(() => { const b = document.querySelector('.board'); "
                         "return b.scrollWidth <= b.clientWidth; })()"), "the board must not scroll sideways at 1280"
    column = page.locator("section[data-column='shortlisted']")
    assert column.locator("[data-count]").inner_text() == "134"
    assert column.locator("li.card-app").count() == 20
    assert page.locator("section[data-column='ended'] [data-count]").inner_text() == "60"
    accessible(page, "board of 200")
    shot(page, "board-01-200-at-1280")

    # --- "Show more" adds the column's next 20 in place, and the keyboard goes on from the first of them
    column.get_by_role("link", name=re.compile("^Show more")).click()
    wait_for(lambda: column.locator("li.card-app").count(), lambda n: n == 40, what="the next 20 cards")
    assert page.evaluate("document.activeElement.closest('li.card-app') !== null")

    # --- filters: one source; then those that did not pass screening; then the best match first
    page.get_by_label("Source", exact=True).select_option("careers")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"source=careers"))
    sources = page.locator("li.card-app").evaluate_all("cards => cards.map(c => c.dataset.source)")
    assert sources and set(sources) == {"careers"}
    careers = hr.get(pipeline, params={"source": "careers"}).json()["total"]
    shown = sum(int(n) for n in page.locator("[data-count]").all_inner_texts())
    assert shown == careers == 67
    page.get_by_label("Source", exact=True).select_option("")
    page.get_by_label("Screening", exact=True).select_option("false")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"passed=false"))
    assert page.locator("section[data-column='shortlisted'] li.card-app").count() == 0
    assert set(page.locator("li.card-app").evaluate_all("cs => cs.map(c => c.dataset.status)")) == {"screened_out"}
    page.get_by_label("Screening", exact=True).select_option("true")
    page.get_by_label("Sort", exact=True).select_option("match")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"sort=match"))
    matches = [int(m) for m in re.findall(r"match (\d+) %", column.inner_text())]
    assert len(matches) == 20 and matches == sorted(matches, reverse=True) and matches[0] == 100
    shot(page, "board-02-passed-best-match")

    # --- bulk: five cards tagged after the confirmation page
    page.goto(f"/console/requisitions/{req['id']}/board?sort=newest")
    picks = column.locator("input.pick")
    chosen = picks.evaluate_all("xs => xs.slice(0, 5).map(x => x.value)")
    picks.nth(0).focus()
    page.keyboard.press("Space")  # the keyboard selects a card
    for n in range(1, 5):
        picks.nth(n).check()
    assert page.locator("#bulk-count").inner_text() == "(5 selected)"
    bulk = page.get_by_role("form", name=re.compile("With the selected applications"))
    bulk.get_by_label("Action").select_option("tag")
    bulk.get_by_label("Tag", exact=True).fill("Night shift")
    bulk.get_by_role("button", name="Review…").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Confirm: Add the tag “Night shift” to 5 of 5"), heading
    accessible(page, "bulk confirmation")
    shot(page, "board-03-bulk-confirm")
    page.get_by_role("button", name="Confirm for 5 applications").click()
    page.wait_for_url(re.compile(r"/board\?sort=newest$"))
    assert "Done for 5 of 5 applications." in page.get_by_role("status").first.inner_text()
    for app_id in chosen:
        assert "night shift" in page.locator(f"[data-application='{app_id}'] ul.tags").inner_text()
    page.get_by_label("Tag", exact=True).first.select_option("night shift")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"tag=night"))
    tagged = page.locator("li.card-app").evaluate_all("cs => cs.map(c => c.dataset.application)")
    assert sorted(tagged) == sorted(chosen)
    shot(page, "board-04-tagged")
    history = hr.get(f"/v1/applications/{chosen[0]}").json()["tag_history"]
    assert [(h["by"], h["added"]) for h in history] == [("hedda", ["night shift"])]
    context.close()

    # --- a phone: the columns scroll sideways inside the board, the page does not
    context, page = sign_in(browser, platform.base_url, hr_key, viewport={"width": 390, "height": 844},
                            is_mobile=True, has_touch=True)
    page.goto(f"/console/requisitions/{req['id']}/board")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("(() => { const b = document.querySelector('.board'); "
                         "return b.scrollWidth > b.clientWidth; })()")
    page.locator("#col-ended").scroll_into_view_if_needed()
    assert page.locator("#col-ended").is_visible()
    shot(page, "board-05-phone")
    context.close()
