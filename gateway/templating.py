"""The gateway's HTML templates (candidate portal, web console): one Jinja environment, autoescaped."""

from __future__ import annotations

import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from shared.timeutil import parse

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]))
STATIC_DIR = Path(__file__).parent / "static"

# Pages allow only what this gateway serves: no inline script or style, no framing, forms post here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: str | None, empty: str = "—", zone: str = "UTC") -> str:
    """An ISO time as people read it, in `zone` and naming it: `2026-12-01 09:00 UTC`,
    `2026-12-01 17:00 Asia/Shanghai`. `zone` is a checked IANA name (the user's)."""
    if not value:
        return empty
    try:
        moment = parse(value)
    except (TypeError, ValueError):
        return str(value)
    if zone == "UTC":
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} {zone}"


def local_input(value: str | None, zone: str = "UTC") -> str:
    """An ISO time as a `datetime-local` field shows it in `zone`: `2026-12-01T17:00` (empty if none)."""
    if not value:
        return ""
    try:
        return f"{parse(value).astimezone(ZoneInfo(zone)):%Y-%m-%dT%H:%M}"
    except (TypeError, ValueError):
        return ""


@pass_context
def _local_input(context, value: str | None) -> str:
    return local_input(value, context.get("viewer_zone") or "UTC")


@pass_context
def _when(context, value: str | None, empty: str = "—") -> str:
    """The template filter: in the page's `viewer_zone` (the console user's time zone), else UTC."""
    return when(value, empty, context.get("viewer_zone") or "UTC")


def label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def filesize(value: int | None) -> str:
    """A file's size as people read it: `812 bytes`, `34 KB`, `2.4 MB`."""
    if value is None:
        return "—"
    if value < 1024:
        return f"{value} bytes"
    if value < 1024 * 1024:
        return f"{value / 1024:.0f} KB"
    return f"{value / (1024 * 1024):.1f} MB"


TEMPLATES.filters["when"] = _when
TEMPLATES.filters["local_input"] = _local_input
TEMPLATES.filters["filesize"] = filesize
TEMPLATES.filters["label"] = label
# A form's one-time id, sent as its Idempotency-Key: a form submitted twice is acted on once.
TEMPLATES.globals["new_nonce"] = lambda: secrets.token_urlsafe(16)
