"""An interview's time in words, and IANA zone names: pure (no I/O), shared by the notices
(services/notification) and the candidate portal's pages (gateway), which may not import a service.

- `when_text` is the same instant as a person in a given zone reads it, zone and offset named, for the text
  of emails and pages (a recipient's zone may differ from the interview's).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones


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
