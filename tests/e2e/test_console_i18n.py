"""The console in Chinese and in the user's own time zone, in a real browser (issue 20): an invited zh-CN user
in Asia/Shanghai sets a password from the emailed link, signs in and reads the navigation, the requisitions and
the board in Chinese with times in Shanghai, the zone named; then switches to English and Europe/Berlin on
their account page. The browser itself is set to English and UTC: the account decides, not the browser."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_console import CHROMIUM, CHROMIUM_ARGS, accessible, browser, shot  # noqa: F401 - fixture
from tests.e2e.test_hiring_loop import make_key
from tests.e2e.test_interviews import wait_mails
from tests.support.divisions import register_over_api

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.browser]

PASSWORD = "violet harbour tram 42"


def test_a_zh_cn_user_reads_the_console_in_chinese_in_their_zone(platform, browser):  # noqa: F811
    admin = platform.client()
    division = f"sh-{secrets.token_hex(3)}"
    register_over_api(admin, division)
    hr = platform.client(make_key(admin, "hr-i18n", "hr", [division]))
    req = hr.post("/v1/requisitions", json={"title": "Barista", "division": division, "department": "stores",
                                            "tier": "basic", "required_skills": ["coffee"]})
    assert req.status_code == 201, req.text
    created_at = req.json()["created_at"]
    email = f"wang.{secrets.token_hex(3)}@example.org"
    user = admin.post("/v1/users", json={"email": email, "name": "Wang Fang", "role": "hr", "divisions": [division],
                                         "locale": "zh-CN", "timezone": "Asia/Shanghai"})
    assert user.status_code == 201, user.text
    [(_, text)] = wait_mails(platform, email, "staff_invitation")
    link = re.search(r"/console/invitations/[A-Za-z0-9_\-]+", text).group(0)

    context = browser.new_context(base_url=platform.base_url, viewport={"width": 1366, "height": 900},
                                  locale="en-GB", timezone_id="UTC")
    page = context.new_page()
    page.goto(link)
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(re.compile(r"/console/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/console/requisitions$"))

    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", level=1).inner_text() == "招聘需求"
    nav = page.get_by_role("navigation", name="控制台")
    assert nav.get_by_role("link", name="招聘需求").get_attribute("aria-current") == "page"
    local = datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai"))
    row = page.get_by_role("row").filter(has_text="Barista")
    assert f"{local:%Y-%m-%d %H:%M} Asia/Shanghai" in row.inner_text()
    accessible(page, "requisitions in zh-CN")
    shot(page, "i18n-01-requisitions-zh")

    page.goto(f"/console/requisitions/{req.json()['id']}/board")
    for name in ("已收到", "通过筛选", "面试中", "已结束"):
        assert page.get_by_role("heading", level=2, name=re.compile(rf"^{name}")).count() == 1, name
    shot(page, "i18n-02-board-zh")

    page.goto("/console/account")
    page.get_by_label("语言", exact=True).select_option("en")
    page.get_by_label("时区", exact=True).fill("Europe/Berlin")
    page.get_by_role("button", name="保存").click()
    assert "Language and time zone saved." in page.get_by_role("status").inner_text()
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto("/console/requisitions")
    berlin = datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Berlin"))
    assert page.get_by_role("heading", level=1).inner_text() == "Requisitions"
    assert f"{berlin:%Y-%m-%d %H:%M} Europe/Berlin" in page.get_by_role("row").filter(has_text="Barista").inner_text()
    context.close()
