"""What a candidate sees in the portal (`/portal/{token}`, gateway/routes/portal.py): the application or the
re-engagement offer their link is bound to, built from allow-lists, in their language."""

from __future__ import annotations

from typing import Any

from gateway import portal_text
from shared.interview_time import valid_timezone, when_text
from shared.timeutil import parse

# ---------------------------------------------------------------------------------------------------------
# What the candidate may see. The portal's page and JSON are built field by field from these allow-lists,
# never by trimming the staff view: a field added to an application, an approval step or a re-engagement
# for staff stays out of the portal until someone adds it here on purpose. Words come from portal_text,
# per status, never from the staff timeline's `detail` (key names, interview ids, scores, override reasons).


def application_view(app: dict, approvals: list[dict], survey: dict, consent: dict, locale: str,
                     interview: dict | None = None) -> dict[str, Any]:
    """The candidate's view of their application: their own reference (the id in their link), the role's
    title, where it stands, a timeline in their words, the approval steps' names and times, and what they
    can do (answer an offer, the survey, leave the talent pool)."""
    status = app["status"]
    return {
        "kind": "application",
        "application_id": app["id"],
        "locale": locale,
        "requisition_title": app.get("requisition_title"),
        "status": status,
        "status_text": portal_text.STATUS[locale].get(status, portal_text.status_name(locale, status)),
        "timeline": _timeline(app.get("timeline") or [], locale),
        "approvals": [{"step": s["step"], "name": portal_text.step_name(locale, s.get("role")),
                       "status": s["status"], "status_name": portal_text.status_name(locale, s["status"]),
                       "expected_by": s.get("expected_by"), "decided_at": s.get("decided_at")}
                      for s in approvals],
        "can_respond": status == "offered",
        "offer": _offer_view(app, locale),
        "survey": {"open": bool(survey.get("sent")) and not survey.get("answered"),
                   "answered": bool(survey.get("answered"))},
        "talent_pool": _consent_view(consent),
        "interview": _interview_view(interview, locale),
    }


# Statuses in which the candidate sees the offer's terms: never while a core role's approvals are pending.
OFFER_VISIBLE = frozenset({"offered", "accepted", "declined", "hired", "no_show"})


def _offer_view(app: dict, locale: str) -> dict[str, Any] | None:
    """The offer's terms (sourcing's OfferView) once the offer is the candidate's: pay, start dates to choose
    from, the expiry in the division's zone, HR's message; not who set them, nor the version."""
    offer = app.get("offer")
    if not offer or app["status"] not in OFFER_VISIBLE:
        return None
    salary = offer["salary"]
    return {
        "salary": {k: salary.get(k) for k in ("amount", "currency", "period")},
        "salary_text": portal_text.salary_text(locale, salary),
        "start_date_options": list(offer["start_date_options"]),
        "expires_at": offer["expires_at"],
        "expires_text": portal_text.local_time(offer["expires_at"], offer.get("timezone") or "UTC"),
        "timezone": offer.get("timezone") or "UTC",
        "message": offer.get("message"),
        "company": offer.get("company"),
        "expired": bool(offer.get("expired")),
        "accepted_start_date": offer.get("accepted_start_date"),
        "can_accept": app["status"] == "offered" and not offer.get("expired"),
    }


def _interview_view(interview: dict | None, locale: str = "en") -> dict[str, Any] | None:
    """The candidate's interview (interview_feedback's CandidateInterview, itself an allow-list): when, how,
    where, and the slots they may pick from. `when` and each choice's `text` are the times in words in the
    interview's zone, zone named (the zone the panel and the place keep; the .ics shows the candidate's own)."""
    if not interview:
        return None
    keys = ("interview_id", "status", "starts_at", "ends_at", "duration_minutes", "timezone", "format", "location",
            "meeting_url", "instructions", "slots", "other_times_requested")
    view = {**{k: interview.get(k) for k in keys}, "can_pick": interview.get("status") == "awaiting_candidate"}
    duration = interview.get("duration_minutes") or 60
    view["when"] = _when(interview.get("starts_at"), duration, interview.get("timezone"), locale)
    view["slot_choices"] = [{"starts_at": s, "text": _when(s, duration, interview.get("timezone"), locale)}
                            for s in interview.get("slots") or []]
    view["format_text"] = portal_text.interview_format(locale, interview.get("format"))
    return view


def _when(starts_at: str | None, duration: int, timezone: str | None, locale: str) -> str | None:
    if not starts_at:
        return None
    # The service keeps IANA zones only; one this process's tz database lacks is read as UTC, never a 500.
    return when_text(parse(starts_at), duration, timezone if valid_timezone(timezone) else "UTC", locale)


def reengagement_view(reg: dict, consent: dict, locale: str) -> dict[str, Any]:
    """The candidate's view of a re-engagement offer: the role, whether it is still open to answer, and,
    once accepted, the reference of the application it created for them."""
    status = reg["status"]
    return {
        "kind": "reengagement",
        "locale": locale,
        "requisition_title": reg.get("requisition_title"),
        "status": status,
        "status_text": portal_text.status_name(locale, status),
        "can_respond": status == "pending",
        "application_id": reg.get("application_id"),
        "talent_pool": _consent_view(consent),
    }


def _timeline(entries: list[dict], locale: str) -> list[dict[str, Any]]:
    """One line per status reached. Entries that keep the status (staff actions such as HR's phone
    confirmation of an offer) say nothing new to the candidate and are left out."""
    lines: list[dict[str, Any]] = []
    for entry in entries:
        if lines and lines[-1]["status"] == entry["status"]:
            continue
        lines.append({"at": entry.get("at"), "status": entry["status"],
                      "text": portal_text.timeline_text(locale, entry["status"])})
    return lines


def _consent_view(consent: dict) -> dict[str, bool]:
    return {"in_pool": bool(consent.get("in_pool")), "withdrawn": bool(consent.get("withdrawn"))}
