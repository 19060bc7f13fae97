"""The console in the signed-in user's language and time zone (issue 20): a zh-CN user in Asia/Shanghai reads
the header, the requisitions, the board's columns and the application page in Chinese with every time in
their zone and the zone named; they change both on /console/account (a wrong zone is refused, nothing
stored); a key session (no account) follows the browser (Accept-Language, `?lang=`) and reads UTC. In
process, against fakes of the services; the users and sessions are the gateway's own (real Mongo, Redis)."""

from __future__ import annotations

import re
import secrets

import pytest
from pymongo import MongoClient

from gateway.console.session import LOGIN_COOKIE
from gateway.testing import sample
from gateway.tests.inprocess import gateway_settings, holding, namespace_of, running
from shared.contracts import interview_feedback, notification, sourcing

ORIGIN = {"Origin": "http://testserver"}
PASSWORD = "violet harbour tram 42"
DIVISION = "console-i18n"
HELD = {"requisition_id": "req_i18n", "application_id": "app_i18n", "candidate_id": "cand_i18n",
        "interview_id": "int_i18n", "division": DIVISION}
RECORD = {"id": DIVISION, "name": "Shanghai", "timezone": "Asia/Shanghai", "locale": "zh-CN", "careers_blurb": "",
          "colour": "#1f6f5c", "created_at": "2026-01-01T00:00:00Z"}
# 09:00 UTC is 17:00 in Shanghai and 10:00 in Berlin (CET, December)
LISTING = {"items": [sample(sourcing.Requisition, HELD) | {
    "id": "req_i18n", "status": "open", "title": "Barista", "division": DIVISION, "urgent": True,
    "created_at": "2026-12-01T09:00:00Z"}], "next_cursor": None}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "console-i18n") as namespace, \
            running(gateway_settings(data_infra, namespace, rate_limit_anonymous=None), holding(HELD)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer_declared(HELD)
    gateway.fake.registers(DIVISION)
    gateway.fake.answer(sourcing.ListDivisions, {"items": [RECORD]})
    gateway.fake.answer(notification.SendStaffEmail, lambda call: {"message_id": f"<{secrets.token_hex(4)}@t>"})
    gateway.fake.answer(sourcing.ListRequisitions, LISTING)
    gateway.client.cookies.clear()
    yield gateway
    gateway.client.cookies.clear()


def signed_in_user(gw, **fields) -> dict:
    """A new active user of DIVISION (invited by an admin, password set from the link), signed in."""
    body = {"email": f"u{secrets.token_hex(4)}@example.com", "name": "Wang Fang", "role": "hr",
            "divisions": [DIVISION], **fields}
    created = gw.client.post("/v1/users", json=body, headers=gw.as_("admin", (DIVISION,)))
    assert created.status_code == 201, created.text
    [call] = [c for c in gw.fake.calls_to(notification.SendStaffEmail) if c.kwargs["to"] == body["email"]]
    link = call.kwargs["link"][len(gw.settings.public_url):]
    gw.client.get(link)
    done = gw.client.post(link, data={"csrf": gw.client.cookies[LOGIN_COOKIE], "password": PASSWORD}, headers=ORIGIN)
    assert done.status_code == 303, done.text
    gw.client.get("/console/login")
    signed = gw.client.post("/console/login", data={"csrf": gw.client.cookies[LOGIN_COOKIE], "email": body["email"],
                                                    "password": PASSWORD}, headers=ORIGIN)
    assert signed.status_code == 303, signed.text
    return created.json()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_a_zh_cn_user_reads_the_requisitions_in_chinese_with_times_in_their_zone(gw):
    signed_in_user(gw, locale="zh-CN", timezone="Asia/Shanghai")
    page = gw.client.get("/console/requisitions")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert ">招聘需求</a>" in html and ">退出登录<" in html and "<h1>招聘需求</h1>" in html  # nav, header, heading
    assert ">创建时间<" in html and ">紧急<" in html and ">进行中<" in html  # a column, the badge, the status
    assert "2026-12-01 17:00 Asia/Shanghai" in html and "09:00 UTC" not in html
    assert ">Requisitions<" not in html and "Sign out" not in html


def test_the_board_columns_and_the_application_page_are_in_chinese(gw):
    signed_in_user(gw, locale="zh-CN", timezone="Asia/Shanghai")
    board = gw.client.get("/console/requisitions/req_i18n/board")
    assert board.status_code == 200, board.text
    for name in ("已收到", "通过筛选", "面试中", "审批中", "已发录用", "已入职", "已结束"):
        assert re.search(rf'<h2 id="col-\w+">{name} <span class="count"', board.text), name
    assert "awaiting approval" not in board.text

    application = sample(sourcing.Application, HELD) | {
        "status": "received", "timeline": [{"status": "received", "at": "2026-12-01T09:00:00Z", "detail": ""}]}
    gw.fake.answer(sourcing.GetApplication, application)
    page = gw.client.get("/console/applications/app_i18n")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<html lang="zh-CN">' in html
    for heading in ("筛选", "发给候选人和 HR 的通知", "时间线"):
        assert f">{heading}</h2>" in html, heading
    assert '<time datetime="2026-12-01T09:00:00Z">2026-12-01 17:00 Asia/Shanghai</time>' in html
    assert ">Timeline</h2>" not in html


def test_a_user_changes_language_and_zone_on_the_account_page_and_a_wrong_zone_is_refused(gw, data_infra):
    user = signed_in_user(gw, locale="zh-CN", timezone="Asia/Shanghai")
    account = gw.client.get("/console/account").text
    assert 'action="/console/account/preferences"' in account and ">语言和时区</h2>" in account
    csrf = csrf_of(account)

    wrong = gw.client.post("/console/account/preferences", data={"csrf": csrf, "locale": "en",
                                                                 "timezone": "Mars/Base"}, headers=ORIGIN)
    assert wrong.status_code == 303
    assert "timezone: an IANA time zone" in gw.client.get(wrong.headers["location"]).text
    bad_locale = gw.client.post("/console/account/preferences", data={"csrf": csrf, "locale": "fr",
                                                                      "timezone": "Europe/Berlin"}, headers=ORIGIN)
    assert "locale: one of en, zh-CN" in gw.client.get(bad_locale.headers["location"]).text
    users = MongoClient(data_infra.mongo_url)[gw.settings.database_name("gateway")].users
    stored = users.find_one({"_id": user["id"]})
    assert (stored["locale"], stored["timezone"]) == ("zh-CN", "Asia/Shanghai")  # neither half of either stored

    saved = gw.client.post("/console/account/preferences", data={"csrf": csrf, "locale": "en",
                                                                 "timezone": "Europe/Berlin"}, headers=ORIGIN)
    assert saved.status_code == 303
    assert "Language and time zone saved." in gw.client.get(saved.headers["location"]).text
    html = gw.client.get("/console/requisitions").text
    assert '<html lang="en">' in html and "<h1>Requisitions</h1>" in html
    assert "2026-12-01 10:00 Europe/Berlin" in html and "Asia/Shanghai" not in html


def test_a_key_session_follows_the_browser_and_reads_utc(gw):
    gw.client.get("/console/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    login = gw.client.get("/console/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert '<html lang="zh-CN">' in login and "登录 hireloop 控制台" in login and ">邮箱<" in login
    assert '<html lang="en">' in gw.client.get("/console/login").text

    key = gw.key("hr", (DIVISION,))[1]
    done = gw.client.post("/console/login", data={"csrf": gw.client.cookies[LOGIN_COOKIE], "api_key": key},
                          headers=ORIGIN)
    assert done.status_code == 303, done.text
    chinese = gw.client.get("/console/requisitions", headers={"Accept-Language": "zh-CN"}).text
    assert '<html lang="zh-CN">' in chinese and "<h1>招聘需求</h1>" in chinese
    assert "2026-12-01 09:00 UTC" in chinese
    asked = gw.client.get("/console/requisitions?lang=zh-CN").text
    assert "<h1>招聘需求</h1>" in asked
    english = gw.client.get("/console/requisitions").text
    assert '<html lang="en">' in english and "<h1>Requisitions</h1>" in english and "2026-12-01 09:00 UTC" in english


def test_a_time_typed_into_a_form_is_read_in_the_users_zone(gw):
    signed_in_user(gw, locale="en", timezone="Asia/Shanghai")
    stored = sample(sourcing.Requisition, HELD) | {"id": "req_i18n", "division": DIVISION,
                                                   "closes_at": "2026-03-01T09:30:15Z"}
    gw.fake.answer(sourcing.GetRequisition, stored)
    gw.fake.answer(sourcing.PatchRequisition, lambda call: stored)
    page = gw.client.get("/console/requisitions/req_i18n").text
    # the field shows the stored closing time in Shanghai, and says which zone it is in
    assert 'name="closes_at" type="datetime-local" value="2026-03-01T17:30"' in page
    assert "Applications close (Asia/Shanghai, optional)" in page
    form = {"csrf": csrf_of(page), "description": "x", "employment_type": "full_time",
            "closes_at": "2026-03-01T17:30", "closes_at_was": "2026-03-01T09:30:15Z"}
    gw.client.post("/console/requisitions/req_i18n/posting", data=form, headers=ORIGIN)
    gw.client.post("/console/requisitions/req_i18n/posting", data={**form, "closes_at": "2026-04-01T08:00"},
                   headers=ORIGIN)
    unchanged, moved = gw.fake.calls_to(sourcing.PatchRequisition)
    assert unchanged.kwargs["closes_at"] == "2026-03-01T09:30:15Z"  # shown minutes not changed: as stored
    assert moved.kwargs["closes_at"] == "2026-04-01T00:00:00Z"  # 08:00 in Shanghai


def test_an_interviewers_first_page_is_in_chinese_with_times_in_their_zone(gw):
    signed_in_user(gw, locale="zh-CN", timezone="Asia/Shanghai", role="interviewer", name="Li Lei")
    listed = sample(interview_feedback.InterviewPage, HELD)
    item = listed["items"][0] | {"status": "scheduled", "scheduled_at": "2026-12-01T09:00:00Z",
                                 "starts_at": "2026-12-01T09:00:00Z", "submitted": []}
    gw.fake.answer(interview_feedback.ListInterviews, {"items": [item], "next_cursor": None})
    page = gw.client.get("/console/interviews")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>我的面试</h1>" in html and ">已安排<" in html and "<td>待提交</td>" in html
    assert "2026-12-01 17:00 Asia/Shanghai" in html and "My interviews" not in html
