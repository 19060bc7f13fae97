"""Invitations read back with icalendar's own parser, as a calendar client would; times in words."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from services.notification.calendar import InterviewInvite, invitation, valid_timezone, when_text

NY = ZoneInfo("America/New_York")
STAMP = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def an_interview(**changes) -> InterviewInvite:
    fields = dict(
        id="int_7f3a", sequence=0, starts_at=datetime(2027, 3, 15, 13, 0, tzinfo=UTC), duration_minutes=45,
        timezone="America/New_York", format="video", title="Interview: Barista",
        organizer_name="Retail HR", organizer_email="hr@retail.example",
        attendees=[("Li Lei", "li@example.com", "REQ-PARTICIPANT"), ("Ann Ortiz", "ann@retail.example", "CHAIR")],
        meeting_url="https://meet.jit.si/hireloop-int_7f3a", instructions="Please join five minutes early.",
    )
    return InterviewInvite(**{**fields, **changes})


def parsed(ics: bytes) -> tuple[Calendar, object]:
    cal = Calendar.from_ical(ics)
    [event] = cal.walk("VEVENT")
    return cal, event


def local_start(cal: Calendar, event) -> datetime:
    """DTSTART as the file's own VTIMEZONE defines it (not the parser's zone database): the wall time in
    the file, read with the offsets the file carries."""
    [vtz] = cal.walk("VTIMEZONE")
    tz_from_file = vtz.to_tz(lookup_tzid=False)
    naive = event.decoded("dtstart").replace(tzinfo=None)
    return naive.replace(tzinfo=tz_from_file)


def test_a_request_holds_method_uid_sequence_times_in_the_zone_people_and_place():
    cal, event = parsed(invitation(an_interview(sequence=3), "REQUEST", stamp=STAMP))
    assert str(cal["METHOD"]) == "REQUEST" and str(cal["VERSION"]) == "2.0" and "hireloop" in str(cal["PRODID"])
    assert str(event["UID"]) == "int_7f3a@hireloop"
    assert event.decoded("sequence") == 3
    assert event.decoded("dtstamp") == STAMP

    # 13:00 UTC on 15 March 2027 is 09:00 in New York, already on daylight time (UTC-4 since 14 March)
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.decoded("dtstart").replace(tzinfo=None) == datetime(2027, 3, 15, 9, 0)
    assert event.decoded("dtstart") == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=45)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    assert local_start(cal, event) == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)

    assert str(event["SUMMARY"]) == "Interview: Barista"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "Please join five minutes early." in str(event["DESCRIPTION"])
    assert "https://meet.jit.si/hireloop-int_7f3a" in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]) == str(event["URL"]) == "https://meet.jit.si/hireloop-int_7f3a"

    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:hr@retail.example" and organizer.params["CN"] == "Retail HR"
    attendees = {str(a): dict(a.params) for a in event["ATTENDEE"]}
    assert attendees == {
        "mailto:li@example.com": {"CN": "Li Lei", "CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT",
                                  "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"},
        "mailto:ann@retail.example": {"CN": "Ann Ortiz", "CUTYPE": "INDIVIDUAL", "ROLE": "CHAIR",
                                      "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"},
    }


def test_the_same_wall_clock_before_the_dst_change_is_another_instant():
    # 09:00 in New York on Friday 12 March 2027 is still standard time (UTC-5): 14:00 UTC
    cal, event = parsed(invitation(an_interview(starts_at=datetime(2027, 3, 12, 14, 0, tzinfo=UTC)), "REQUEST"))
    assert event.decoded("dtstart").replace(tzinfo=None) == datetime(2027, 3, 12, 9, 0)
    assert event.decoded("dtstart").utcoffset() == timedelta(hours=-5)
    assert local_start(cal, event) == datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
    # and across the change, the end is read with the other offset: 01:30 EST + 60 min = 03:30 EDT
    cal, event = parsed(invitation(an_interview(starts_at=datetime(2027, 3, 14, 6, 30, tzinfo=UTC),
                                                duration_minutes=60), "REQUEST"))
    assert event.decoded("dtend").replace(tzinfo=None) == datetime(2027, 3, 14, 3, 30)
    assert event.decoded("dtend") == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence():
    _, first = parsed(invitation(an_interview(sequence=0), "REQUEST"))
    moved = an_interview(sequence=1, starts_at=datetime(2027, 3, 16, 15, 0, tzinfo=UTC))
    _, second = parsed(invitation(moved, "REQUEST"))
    assert str(first["UID"]) == str(second["UID"])
    assert second.decoded("sequence") > first.decoded("sequence")
    assert second.decoded("dtstart") == datetime(2027, 3, 16, 15, 0, tzinfo=UTC)


def test_a_cancellation_says_cancel_and_cancelled_for_the_same_uid():
    cal, event = parsed(invitation(an_interview(sequence=2), "CANCEL"))
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == "int_7f3a@hireloop" and event.decoded("sequence") == 2
    assert {str(a) for a in event["ATTENDEE"]} == {"mailto:li@example.com", "mailto:ann@retail.example"}
    assert {a.params["RSVP"] for a in event["ATTENDEE"]} == {"FALSE"}


def test_an_interview_in_utc_is_written_with_z_and_no_vtimezone():
    ics = invitation(an_interview(timezone="UTC", format="onsite", meeting_url=None, location="Room 4, Floor 2"),
                     "REQUEST")
    cal, event = parsed(ics)
    assert b"DTSTART:20270315T130000Z" in ics
    assert cal.walk("VTIMEZONE") == []
    assert str(event["LOCATION"]) == "Room 4, Floor 2" and "URL" not in event


def test_text_and_names_survive_escaping_and_cannot_break_out_of_the_event():
    hostile = "Bring ID; a pen, too.\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil"
    interview = an_interview(instructions=hostile, title="面试：咖啡师, round 1",
                             attendees=[('李雷 "Lei", Jr', "li@example.com", "REQ-PARTICIPANT")],
                             organizer_name="HR\r\nATTENDEE:mailto:x@evil.example")
    cal, event = parsed(invitation(interview, "REQUEST"))
    assert str(event["SUMMARY"]) == "面试：咖啡师, round 1"
    assert str(event["DESCRIPTION"]).startswith("Bring ID; a pen, too.")
    assert "END:VEVENT" in str(event["DESCRIPTION"])  # kept as text, not as structure
    [attendee] = [event["ATTENDEE"]] if not isinstance(event["ATTENDEE"], list) else event["ATTENDEE"]
    assert attendee.params["CN"] == "李雷 'Lei', Jr"
    assert event["ORGANIZER"].params["CN"] == "HR ATTENDEE:mailto:x@evil.example"
    assert str(event["UID"]) == "int_7f3a@hireloop"


@pytest.mark.parametrize("changes", [
    {"starts_at": datetime(2027, 3, 15, 13, 0)},  # naive
    {"duration_minutes": 0}, {"duration_minutes": 481},
    {"timezone": "Mars/Olympus_Mons"}, {"format": "carrier-pigeon"}, {"sequence": -1},
    {"attendees": [("Li", "li@example.com", "BOSS")]},
])
def test_an_invite_that_cannot_be_right_is_refused(changes):
    with pytest.raises(ValueError):
        an_interview(**changes)


@pytest.mark.parametrize("email", ["", "li", "li@example.com\r\nX:y", "<li@example.com>", "a b@example.com"])
def test_an_address_that_is_not_one_is_refused(email):
    with pytest.raises(ValueError):
        invitation(an_interview(organizer_email=email), "REQUEST")


def test_only_request_and_cancel_are_methods():
    with pytest.raises(ValueError):
        invitation(an_interview(), "PUBLISH")


# -- words ---------------------------------------------------------------------------------------------

def test_when_text_reads_the_instant_in_the_given_zone_with_zone_and_offset():
    at = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    assert when_text(at, 60, "Asia/Shanghai", "en") == "Tue 8 Dec 2026, 09:00–10:00 (Asia/Shanghai, UTC+08:00)"
    assert when_text(at, 60, "Asia/Shanghai", "zh-CN") == "2026年12月8日 周二 09:00–10:00（Asia/Shanghai，UTC+08:00）"
    # the same instant for someone in New York is the evening before
    assert when_text(at, 60, "America/New_York") == "Mon 7 Dec 2026, 20:00–21:00 (America/New_York, UTC-05:00)"
    assert when_text(at, 30, "Asia/Kolkata") == "Tue 8 Dec 2026, 06:30–07:00 (Asia/Kolkata, UTC+05:30)"
    assert when_text(at, 60, "Asia/Shanghai", "fr") == when_text(at, 60, "Asia/Shanghai", "en")


def test_when_text_follows_dst_and_names_a_second_day_or_offset():
    assert when_text(datetime(2027, 3, 12, 14, 0, tzinfo=UTC), 45, "America/New_York") == \
        "Fri 12 Mar 2027, 09:00–09:45 (America/New_York, UTC-05:00)"
    assert when_text(datetime(2027, 3, 15, 13, 0, tzinfo=UTC), 45, "America/New_York") == \
        "Mon 15 Mar 2027, 09:00–09:45 (America/New_York, UTC-04:00)"
    assert when_text(datetime(2027, 3, 14, 6, 30, tzinfo=UTC), 60, "America/New_York") == \
        "Sun 14 Mar 2027, 01:30–03:30 (America/New_York, UTC-05:00/UTC-04:00)"
    assert when_text(datetime(2026, 12, 8, 15, 30, tzinfo=UTC), 60, "Asia/Shanghai") == \
        "Tue 8 Dec 2026, 23:30 – Wed 9 Dec 2026, 00:30 (Asia/Shanghai, UTC+08:00)"
    assert when_text(datetime(2026, 12, 8, 15, 30, tzinfo=UTC), 60, "Asia/Shanghai", "zh-CN") == \
        "2026年12月8日 周二 23:30 – 2026年12月9日 周三 00:30（Asia/Shanghai，UTC+08:00）"
    with pytest.raises(ValueError):
        when_text(datetime(2027, 3, 15, 13, 0), 45, "America/New_York")
    with pytest.raises(ValueError):
        when_text(datetime(2027, 3, 15, 13, 0, tzinfo=UTC), 45, "EST5EDT/nowhere")


@pytest.mark.parametrize("name, ok", [
    ("Asia/Shanghai", True), ("America/New_York", True), ("UTC", True), ("Europe/Berlin", True),
    ("Mars/Olympus_Mons", False), ("", False), (" Asia/Shanghai", False), ("asia/shanghai", False),
    ("../../etc/passwd", False), ("/usr/share/zoneinfo/UTC", False), (None, False), (8, False),
])
def test_valid_timezone(name, ok):
    assert valid_timezone(name) is ok


def test_the_description_uses_the_labels_it_is_given():
    zh = an_interview(format="onsite", location="上海市南京西路 1 号", meeting_url=None, instructions="请携带身份证。",
                      labels={"location": "地点", "meeting_url": "会议链接"})
    _, event = parsed(invitation(zh, "REQUEST"))
    assert str(event["DESCRIPTION"]) == "请携带身份证。\n\n地点: 上海市南京西路 1 号"
    _, event = parsed(invitation(an_interview(), "REQUEST"))
    assert str(event["DESCRIPTION"]) == "Please join five minutes early.\n\nJoin: https://meet.jit.si/hireloop-int_7f3a"
