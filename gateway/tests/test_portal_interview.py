"""The portal's interview section (gateway/portal.py, templates/portal_interview.html), rendered as the page is:
the offered times in words in the interview's zone with the zone named, one radio each and a confirm button, the
request for other times, then the booked interview (when, how, where, what to bring), in English and Chinese."""

from __future__ import annotations

import re

import pytest

from gateway import portal, portal_text
from gateway.templating import TEMPLATES

APP = {"id": "app_1", "requisition_title": "Barista", "status": "interviewing", "tier": "basic", "timeline": []}
NOTHING = {"sent": False, "answered": False}
CONSENT = {"in_pool": False, "withdrawn": False}
SLOTS = ["2027-01-04T09:00:00Z", "2027-01-05T01:30:00Z"]
OFFERED = {"interview_id": "int_1", "status": "awaiting_candidate", "starts_at": None, "ends_at": None,
           "duration_minutes": 45, "timezone": "Asia/Shanghai", "format": "onsite", "location": "Store 4, 2F",
           "meeting_url": None, "instructions": "Bring your ID.", "slots": SLOTS, "other_times_requested": False,
           "interviewers": ["ann-r"]}  # a field the candidate's view never had: it must not pass the allow-list
WORDS = {  # the two slots, 45 minutes each, as a person in Shanghai reads them
    "en": ["Mon 4 Jan 2027, 17:00–17:45 (Asia/Shanghai, UTC+08:00)",
           "Tue 5 Jan 2027, 09:30–10:15 (Asia/Shanghai, UTC+08:00)"],
    "zh-CN": ["2027年1月4日 周一 17:00–17:45（Asia/Shanghai，UTC+08:00）",
              "2027年1月5日 周二 09:30–10:15（Asia/Shanghai，UTC+08:00）"],
}


def page(interview: dict, locale: str) -> tuple[dict, str]:
    view = portal.application_view(APP, [], NOTHING, CONSENT, locale, interview)
    html = TEMPLATES.get_template("portal.html").render(view=view, locale=locale, text=portal_text.TEXT[locale])
    return view, html


def section(html: str) -> str:
    found = re.search(r'<section class="panel interview".*?</section>', html, re.S)
    assert found, "no interview section"
    return found.group(0)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_each_offered_time_is_a_radio_in_words_in_the_interviews_zone_with_a_confirm_button(locale):
    view, html = page(OFFERED, locale)
    words = portal_text.TEXT[locale]
    assert [c["text"] for c in view["interview"]["slot_choices"]] == WORDS[locale]
    assert [c["starts_at"] for c in view["interview"]["slot_choices"]] == SLOTS
    part = section(html)
    radios = re.findall(r'<label class="choice"><input type="radio" name="starts_at" value="([^"]+)"> '
                        r'<span>([^<]+)</span></label>', part)
    assert radios == list(zip(SLOTS, WORDS[locale], strict=True))
    assert words["iv_pick_heading"] in part and words["iv_pick_confirm"] in part
    assert words["iv_pick_intro"].format(zone="Asia/Shanghai") in part
    assert '<form id="other-times">' in part and words["iv_other_send"] in part
    assert 'for="other-note"' in part and 'id="other-note"' in part  # the note has its label
    assert "ann-r" not in html and "interviewers" not in view["interview"]
    assert f"{words['iv_format_onsite']} · Store 4, 2F" in part  # how and where help to choose a time
    assert "Bring your ID." not in part  # what to bring comes with the booked time


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_once_other_times_are_asked_for_the_page_says_so_instead_of_asking_again(locale):
    _, html = page({**OFFERED, "other_times_requested": True}, locale)
    part = section(html)
    assert portal_text.TEXT[locale]["iv_other_requested"] in part and 'id="other-times"' not in part
    assert 'id="slot-pick"' in part  # the times still open may be picked meanwhile


def test_with_every_offered_time_taken_the_page_asks_for_other_times():
    _, html = page({**OFFERED, "slots": []}, "en")
    part = section(html)
    assert 'id="slot-pick"' not in part and portal_text.TEXT["en"]["iv_none_left"] in part
    assert '<details class="other-times" open>' in part


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_booked_interview_shows_when_how_where_and_the_instructions(locale):
    words = portal_text.TEXT[locale]
    booked = {**OFFERED, "status": "scheduled", "starts_at": SLOTS[0], "ends_at": "2027-01-04T09:45:00Z", "slots": []}
    view, html = page(booked, locale)
    part = section(html)
    assert view["interview"]["when"] == WORDS[locale][0] and WORDS[locale][0] in part
    assert f'<time datetime="{SLOTS[0]}">' in part
    assert words["iv_format_onsite"] in part and "Store 4, 2F" in part and "Bring your ID." in part
    assert 'id="slot-pick"' not in part and 'id="other-times"' not in part

    video = {**booked, "format": "video", "location": None, "meeting_url": "https://meet.example.com/int_1"}
    part = section(page(video, locale)[1])
    assert words["iv_format_video"] in part and 'href="https://meet.example.com/int_1"' in part
    assert words["iv_join"] in part and "Store 4" not in part
    part = section(page({**booked, "format": "phone", "location": None}, locale)[1])
    assert words["iv_format_phone"] in part and words["iv_phone_note"] in part


def test_a_zone_this_process_lacks_reads_as_utc_and_no_interview_means_no_section():
    view, _ = page({**OFFERED, "timezone": "Mars/Olympus_Mons"}, "en")
    assert view["interview"]["slot_choices"][0]["text"] == "Mon 4 Jan 2027, 09:00–09:45 (UTC, UTC+00:00)"
    _, html = page(None, "en")
    assert 'class="panel interview"' not in html


def test_the_interview_words_exist_in_both_languages():
    assert set(portal_text.INTERVIEW["en"]) == set(portal_text.INTERVIEW["zh-CN"])
    assert all(portal_text.TEXT[locale][k] for locale in portal_text.LOCALES for k in portal_text.INTERVIEW[locale])
