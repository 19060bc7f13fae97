"""Calendar invitations (iCalendar, RFC 5545 with iTIP methods of RFC 5546) and interview times in words.
Pure: bytes and strings out, no I/O; the caller decides who gets them and when.

- One interview is one VEVENT whose `UID` never changes (`<interview id>@hireloop`); every change the
  attendees should see (time, place, panel, cancellation) is sent again with a higher `SEQUENCE`, which the
  caller keeps and raises, so calendars replace the earlier copy instead of adding a second one.
- Times are written in the interview's IANA zone with its VTIMEZONE (clients show them in each reader's own
  zone), or in UTC (`Z`) when the zone is UTC. The VTIMEZONE covers the year of the interview and the next,
  enough for both ends of the event and small enough to build on every send.
- `when_text` is the same instant as a person in a given zone reads it, zone and offset named, for the text
  of emails and pages (a recipient's zone may differ from the interview's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

PRODID = "-//hireloop//interviews//EN"
UID_DOMAIN = "hireloop"
METHODS = ("REQUEST", "CANCEL")
FORMATS = ("onsite", "video", "phone")
# iCalendar's participation roles: the candidate and the panel are required; CHAIR for whoever leads.
ROLES = ("REQ-PARTICIPANT", "OPT-PARTICIPANT", "CHAIR", "NON-PARTICIPANT")
MAX_DURATION_MINUTES = 480

Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    role: str = "REQ-PARTICIPANT"


@dataclass(frozen=True)
class InterviewInvite:
    """What an invitation says about one interview. `starts_at` is an aware instant (any zone; it is read
    as UTC); `timezone` is the IANA zone the event is written in."""

    id: str
    sequence: int
    starts_at: datetime
    duration_minutes: int
    timezone: str
    format: str
    title: str
    organizer_name: str
    organizer_email: str
    attendees: tuple[Attendee, ...] = ()
    location: str | None = None
    meeting_url: str | None = None
    instructions: str | None = None
    # Labels for the description, in the candidate's language (the caller's templates choose them).
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        # Input was validated at the edge (contracts); these guard the builder against a caller's mistake.
        if self.starts_at.tzinfo is None or self.starts_at.utcoffset() is None:
            raise ValueError("starts_at must be an aware datetime")
        if not 1 <= self.duration_minutes <= MAX_DURATION_MINUTES:
            raise ValueError(f"duration_minutes must be 1..{MAX_DURATION_MINUTES}, not {self.duration_minutes}")
        if not valid_timezone(self.timezone):
            raise ValueError(f"unknown time zone {self.timezone!r}")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {self.format!r}")
        if self.sequence < 0:
            raise ValueError("sequence must be >= 0")
        # (name, email, role) tuples are taken as attendees too
        attendees = tuple(a if isinstance(a, Attendee) else Attendee(*a) for a in self.attendees)
        if bad := [a.role for a in attendees if a.role not in ROLES]:
            raise ValueError(f"unknown attendee role(s) {bad}")
        object.__setattr__(self, "attendees", attendees)

    @property
    def uid(self) -> str:
        return uid_for(self.id)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def uid_for(interview_id: str) -> str:
    return f"{interview_id}@{UID_DOMAIN}"


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_timezone(name: object) -> bool:
    """An IANA zone name as written (`Asia/Shanghai`, `UTC`): ZoneInfo alone would also take file paths
    and, on some systems, other spellings; the list of available zones is the exact set."""
    if not isinstance(name, str) or not name or name != name.strip():
        return False
    if name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError; a listed file may be broken
        return False
    return True


# ----------------------------------------------------------------------------------------------------
# iCalendar

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_EMAIL = re.compile(r"[^\s\x00-\x1f\x7f\"<>,;:@]+@[^\s\x00-\x1f\x7f\"<>,;:@]+")


def _param_text(value: str) -> str:
    """A parameter value (CN) may hold neither control characters nor DQUOTE (RFC 5545 3.1)."""
    return _CONTROL.sub(" ", value).replace('"', "'").strip()


def _address(name: str, email: str, **params: str) -> vCalAddress:
    if not _EMAIL.fullmatch(email or ""):  # it becomes a URI inside the file: nothing that breaks the line
        raise ValueError(f"not an email address: {email!r}")
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = _param_text(name)
    address.params.update(params)
    return address


def _vtimezone(name: str, around: datetime) -> Timezone:
    first = date(around.year, 1, 1)
    return Timezone.from_tzinfo(ZoneInfo(name), tzid=name, first_date=first, last_date=date(around.year + 2, 1, 1))


def description(interview: InterviewInvite) -> str:
    lines = []
    if interview.instructions:
        lines.append(interview.instructions.strip())
    if interview.meeting_url:
        lines.append(f"{interview.labels.get('meeting_url', 'Join')}: {interview.meeting_url}")
    if interview.location and interview.format == "onsite":
        lines.append(f"{interview.labels.get('location', 'Location')}: {interview.location}")
    return "\n\n".join(lines)


def invitation(interview: InterviewInvite, method: Method, *, stamp: datetime | None = None) -> bytes:
    """The `.ics` of one interview: METHOD:REQUEST to invite or update (a higher SEQUENCE replaces the
    earlier copy), METHOD:CANCEL to take it off the calendars. `stamp` is DTSTAMP (when this copy was
    made; default now)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    stamp = (stamp or datetime.now(UTC)).astimezone(UTC)
    zone = ZoneInfo(interview.timezone)
    start = interview.starts_at.astimezone(zone)
    end = interview.ends_at.astimezone(zone)

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    if interview.timezone != "UTC":  # UTC is written as `...Z` and needs no VTIMEZONE
        cal.add_component(_vtimezone(interview.timezone, start))

    event = Event()
    event.add("uid", interview.uid)
    event.add("sequence", interview.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", interview.title)
    if text := description(interview):
        event.add("description", text)
    if where := interview.location or interview.meeting_url:
        event.add("location", vText(where))
    if interview.meeting_url:
        event.add("url", interview.meeting_url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", _address(interview.organizer_name, interview.organizer_email))
    rsvp = "TRUE" if method == "REQUEST" else "FALSE"  # nobody answers a cancellation
    for person in interview.attendees:
        event.add("attendee", _address(person.name, person.email, CUTYPE="INDIVIDUAL", ROLE=person.role,
                                       PARTSTAT="NEEDS-ACTION", RSVP=rsvp))
    cal.add_component(event)
    return cal.to_ical()


# ----------------------------------------------------------------------------------------------------
# Words

_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _offset(moment: datetime) -> str:
    seconds = int(moment.utcoffset().total_seconds())
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"UTC{sign}{hours:02d}:{rest // 60:02d}"


def _day(moment: datetime, locale: str) -> str:
    if locale == "zh-CN":
        return f"{moment.year}年{moment.month}月{moment.day}日 {_ZH_DAYS[moment.weekday()]}"
    return f"{_EN_DAYS[moment.weekday()]} {moment.day} {_EN_MONTHS[moment.month - 1]} {moment.year}"


def when_text(starts_at: datetime, duration_minutes: int, timezone: str, locale: str = "en") -> str:
    """The interview's time as a person in `timezone` reads it, e.g. "Tue 8 Dec 2026, 09:00–10:00
    (Asia/Shanghai, UTC+08:00)" or "2026年12月8日 周二 09:00–10:00（Asia/Shanghai，UTC+08:00）". An end on
    another day names that day; an offset that changes during the interview (a DST switch) names both."""
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be an aware datetime")
    if not valid_timezone(timezone):
        raise ValueError(f"unknown time zone {timezone!r}")
    zone = ZoneInfo(timezone)
    start = starts_at.astimezone(zone)
    end = (starts_at + timedelta(minutes=duration_minutes)).astimezone(zone)
    offsets = _offset(start) if start.utcoffset() == end.utcoffset() else f"{_offset(start)}/{_offset(end)}"
    if locale == "zh-CN":
        span = (f"{_day(start, locale)} {start:%H:%M}–{end:%H:%M}" if end.date() == start.date()
                else f"{_day(start, locale)} {start:%H:%M} – {_day(end, locale)} {end:%H:%M}")
        return f"{span}（{timezone}，{offsets}）"
    span = (f"{_day(start, locale)}, {start:%H:%M}–{end:%H:%M}" if end.date() == start.date()
            else f"{_day(start, locale)}, {start:%H:%M} – {_day(end, locale)}, {end:%H:%M}")
    return f"{span} ({timezone}, {offsets})"
