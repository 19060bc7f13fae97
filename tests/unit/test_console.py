"""The console's pure parts: SVG charts readable without colour, the portal's language choice, CSRF checks,
and the board's columns."""

from __future__ import annotations

import re

from gateway.console import board
from gateway.console.charts import Bar, Row, bar_chart, diverging_chart
from gateway.console.session import csrf_ok
from gateway.portal_text import STATUS, TEXT, pick_locale


def test_a_bar_chart_prints_every_value_names_itself_and_escapes_labels():
    svg = str(bar_chart("c1", "Sources", "Applications per source", [
        Row("referral", (Bar(30, "30 applications"),)), Row("<job board>", (Bar(10, "10 applications"),))]))
    assert 'role="img"' in svg and 'aria-labelledby="c1-t c1-d"' in svg
    assert '<title id="c1-t">Sources</title>' in svg and '<desc id="c1-d">Applications per source</desc>' in svg
    assert "30 applications" in svg and "10 applications" in svg
    assert "&lt;job board&gt;" in svg and "<job board>" not in svg
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)" height="18"', svg)]
    assert abs(widths[0] - 3 * widths[1]) < 0.5  # bars are to scale


def test_series_differ_by_pattern_and_a_legend_not_only_by_colour():
    svg = str(bar_chart("c2", "Time", "d", [Row("basic", (Bar(2, "median 2.0 d", 0), Bar(5, "p90 5.0 d", 1)))],
                        series=["median", "p90"]))
    assert 'fill="url(#c2-hatch)"' in svg and '<pattern id="c2-hatch"' in svg
    assert ">median</text>" in svg and ">p90</text>" in svg


def test_empty_charts_say_so_and_diverging_bars_go_both_ways():
    assert "No data in this period." in str(bar_chart("c3", "t", "d", []))
    svg = str(diverging_chart("c4", "Leniency", "d", [Row("ann", (Bar(1.5, "z +1.50"),)),
                                                      Row("bob", (Bar(-1.5, "z -1.50", 1),))]))
    centre = float(re.search(r'<line x1="([\d.]+)"[^>]*class="zero"', svg).group(1))
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)" y="\d+" width="[\d.]+" height="18"', svg)]
    assert xs[0] == centre and xs[1] < centre  # lenient right of the line, harsh left
    assert "z +1.50" in svg and "harsher" in svg and "more lenient" in svg


def test_the_portal_speaks_the_language_asked_for_then_the_browsers_then_english():
    assert pick_locale("zh-CN", "en-GB") == "zh-CN"
    assert pick_locale(None, "zh-TW,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert pick_locale(None, "de-DE,en;q=0.5") == "en"
    assert pick_locale("fr", None) == "en"
    assert set(STATUS["en"]) == set(STATUS["zh-CN"]) and set(TEXT["en"]) == set(TEXT["zh-CN"])


def test_csrf_tokens_must_match_and_be_present():
    assert csrf_ok("abc", "abc")
    assert not csrf_ok("abc", "abd") and not csrf_ok("abc", "") and not csrf_ok(None, None)


def test_the_board_has_a_column_per_stage_and_one_for_everything_that_ended():
    assert board.COLUMNS == [*board.BOARD_COLUMNS, "ended"]
    assert board.column_params("shortlisted") == {"status": "shortlisted"}
    assert board.column_params("ended") == {"statuses": "screened_out,rejected,declined,no_show,withdrawn"}
    # the address's filters: known values only
    assert board.board_filters({"source": " careers ", "passed": "maybe", "sort": "match", "tag": ""}) == {
        "source": "careers", "sort": "match"}


def test_a_bulk_rejection_follows_each_stage():
    apps = [{"id": f"a_{s}", "status": s} for s in ("received", "shortlisted", "interviewing", "interviewed",
                                                     "awaiting_approval", "offered", "screened_out")]
    hr = {s.app["id"]: s for s in board.plan("reject", apps, "hr", reason="fit")}
    assert hr["a_shortlisted"].path == "/v1/applications/a_shortlisted/screening/override"
    assert hr["a_shortlisted"].body == {"passed": False, "reason": "fit"}
    assert hr["a_interviewed"].path.endswith("/decision") and hr["a_interviewed"].body["outcome"] == "fail"
    assert hr["a_interviewing"].doable
    assert not any(hr[f"a_{s}"].doable for s in ("received", "awaiting_approval", "offered", "screened_out"))
    recruiter = {s.app["id"]: s for s in board.plan("reject", apps, "recruiter", reason="fit")}
    assert recruiter["a_shortlisted"].doable and not recruiter["a_interviewed"].doable
    moved = {s.app["id"]: s for s in board.plan("move", apps, "hr", move_to="shortlisted", reason="second look")}
    assert [k for k, s in moved.items() if s.doable] == ["a_screened_out"]
    withdrawn = board.plan("move", apps, "hr", move_to="withdrawn")
    assert all(s.doable for s in withdrawn) and withdrawn[0].body == {"outcome": "withdrawn"}
    assert not any(s.doable for s in board.plan("move", apps, "recruiter", move_to="withdrawn"))


def test_session_cookies_are_http_only_strict_and_secure_over_tls_even_behind_a_proxy():
    from starlette.requests import Request

    from gateway.console.session import cookie_options

    def request(scheme):
        return Request({"type": "http", "scheme": scheme, "method": "GET", "path": "/console", "headers": [],
                        "server": ("h", 80), "query_string": b""})
    plain = cookie_options(request("http"), "http://localhost:8000")
    assert plain == {"httponly": True, "samesite": "strict", "path": "/console", "secure": False}
    assert cookie_options(request("https"), "http://localhost:8000")["secure"] is True
    assert cookie_options(request("http"), "https://jobs.example.com")["secure"] is True  # TLS ends at a proxy
