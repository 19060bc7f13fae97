"""Calendar invitations (iCalendar, RFC 5545 with iTIP methods of RFC 5546) and interview times in words.
Pure: bytes and strings out, no I/O; the caller decides who gets them and when.

- One interview is one VEVENT whose `UID` never changes (`<interview id>@hireloop`); every change the
  attendees should see (time, place, panel, cancellation) is sent again with a higher `SEQUENCE`, which the
  caller keeps and raises, so calendars replace the earlier copy instead of adding a second one.
- Times are written in the interview's IANA zone with its VTIMEZONE (clients show them in each reader's own
  zone), or in UTC (`Z`) when the zone is UTC. The VTIMEZONE covers the year of the interview and the next,
  enough for both ends of the event and small enough to build on every send.
- `when_text` (shared/interview_time.py, shared with the portal's pages) is the same instant as a person in a
  given zone reads it, zone and offset named, for the text of emails (a recipient's zone may differ from the
  interview's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

# Re-exported: the notices read times in words and check zones through this module, as before.
from shared.interview_time import valid_timezone, when_text  # noqa: F401

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
