"""Talent-pool rules: who enters the pool, how pooled candidates match a requisition, and when a
re-engaged candidate can skip a second interview. Pure functions, no I/O.

- Entry: an application that reached `interviewed` with a `pass` decision ends unhired (declined,
  no_show, withdrawn, or its requisition closes while the offer is open) and the candidate consented.
  A hired candidate never enters (and leaves when hired). One entry per candidate: the latest.
- Matching: candidates already applying to the requisition, hired candidates and entries past
  `retain_until` are left out, and so is anyone without a single skill the requisition asks for.
- Score 0-100: required-skill coverage 50, nice-to-have coverage 15, prior interview average 25
  (average / 5), recency of the prior decision 10 (linear decay over 365 days).
- Order: every required skill first, then score, then prior average (then the more recent decision).
- Fast track: the prior pass is within the division's `reuse_interview_within` and the candidate's
  skills cover every required skill of the new requisition.
- Talent community (issue 18): a sign-up confirmed by its emailed link enters the pool with reason
  `community`, no prior interview, its own skills, and only the requisitions of its divisions of interest
  (none named: every division). Joining again changes nothing until that request is confirmed too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from shared import skills, stats
from shared.contracts.status import supersedes as status_supersedes
from shared.timeutil import parse as parse_time

# Statuses that end an application without a hire and can put its candidate in the pool.
UNHIRED_ENDINGS = ("declined", "no_show", "withdrawn")
REQUISITION_CLOSED = "requisition_closed"
COMMUNITY = "community"
POOL_REASONS = (*UNHIRED_ENDINGS, REQUISITION_CLOSED)
# Statuses that exist only once an interview is complete.
AFTER_INTERVIEW = frozenset(
    {"interviewed", "awaiting_approval", "offered", "rejected", "accepted", "declined", "hired", "no_show"}
)

W_REQUIRED = 50
W_NICE = 15
W_AVERAGE = 25
W_RECENCY = 10
RECENCY_DAYS = 365
MAX_AVERAGE = 5
MAX_MATCHES = 50


# --- pool entry -------------------------------------------------------------------------------------

def reached_interviewed(app: dict, previous_status: str | None = None) -> bool:
    """True once the application was seen at or after `interviewed`, or carries an interview summary."""
    return bool(
        app.get("reached_interviewed")
        or app.get("status") in AFTER_INTERVIEW
        or previous_status in AFTER_INTERVIEW
        or app.get("interview")
    )


def passed(app: dict) -> bool:
    decision = app.get("decision") or {}
    return decision.get("outcome") == "pass"


def pool_reason(app: dict, new_status: str, *, candidate_hired: bool = False) -> str | None:
    """Why this application's candidate enters the pool on moving to `new_status`, or None.

    `app` is the application projection (consent, decision, interview, reached_interviewed) as it stands
    with the change applied."""
    if new_status not in UNHIRED_ENDINGS or candidate_hired:
        return None
    if app.get("consent") is not True:
        return None  # no consent, no entry
    if not passed(app) or not reached_interviewed(app):
        return None
    return new_status


def pool_reason_on_close(app: dict, *, candidate_hired: bool = False) -> str | None:
    """The requisition closed: an open offer (status offered, passed, consented) pools its candidate."""
    if candidate_hired or app.get("status") != "offered" or app.get("consent") is not True or not passed(app):
        return None
    return REQUISITION_CLOSED


def profile_id(candidate_id: str, division: str) -> str:
    return f"{candidate_id}|{division}"


def with_division_profile(candidate: dict, profile: dict | None) -> dict:
    """The candidate as one division knows them (docs/decisions/002-candidates-per-division.md): name and
    skills from that division's profile; a candidate stored before profiles per division keeps the name and
    skills on the candidate itself (the legacy profile) until the division writes its own."""
    if profile is None:
        return candidate
    return {**candidate, "name": profile.get("name") or "", "skills": list(profile.get("skills") or [])}


def build_pool_entry(candidate: dict, app: dict, reason: str, pooled_at: datetime, retention_days: int) -> dict:
    """The pool entry of a candidate (the stored document, `_id` = candidate id)."""
    if reason not in POOL_REASONS:
        raise ValueError(f"unknown pool reason {reason!r}")
    interview = app.get("interview") or {}
    decision = app.get("decision") or {}
    held = list(candidate.get("skills") or [])
    return {
        "_id": candidate["candidate_id"],
        "candidate_id": candidate["candidate_id"],
        "name": candidate.get("name") or "",
        "skills": held,
        "skills_norm": sorted(skills.normalized(held)),
        "prior": {
            "requisition_id": app.get("requisition_id"),
            "requisition_title": app.get("requisition_title"),
            "application_id": app.get("application_id"),
            "division": app.get("division"),
            "average": interview.get("average"),
            "by_competency": dict(interview.get("by_competency") or {}),
            "decided_at": decision.get("decided_at"),
        },
        "reason": reason,
        "pooled_at": pooled_at,
        "retain_until": pooled_at + timedelta(days=retention_days),
    }


# --- the talent community ------------------------------------------------------------------------------

# A member's pool entry is keyed by its sign-up id (a member has no sourcing candidate until they apply).
MEMBER_PREFIX = "mem_"
# A pending sign-up's request is kept this long for its confirmation; a link older than that confirms nothing.
CONFIRM_WITHIN = timedelta(days=14)


def is_member_id(candidate_id: str | None) -> bool:
    return bool(candidate_id) and candidate_id.startswith(MEMBER_PREFIX)


def community_request(signup: dict, now: datetime) -> dict:
    """What one join request (name, skills, divisions, locale) waits as until its link is confirmed."""
    return {"name": signup["name"], "skills": list(signup.get("skills") or []),
            "divisions": sorted(set(signup.get("divisions") or [])), "locale": signup.get("locale") or "en",
            "requested_at": now}


def join(existing: dict | None, request: dict, new_id: str, email_sealed: str, email_lookup: str,
         now: datetime) -> dict:
    """The sign-up after a join request. A new address: a pending sign-up holding the request. An address
    already pending or a member: the same sign-up, its request replaced, nothing else changed (a member's
    profile changes only once the new request is confirmed too: anyone can post anyone's address)."""
    if existing is None or existing.get("status") == "left":
        return {"_id": new_id, "status": "pending", "email": email_sealed, "email_lookup": email_lookup,
                "name": request["name"], "skills": [], "divisions": [], "locale": request["locale"],
                "request": request, "requests": 1, "created_at": now, "confirmed_at": None, "left_at": None}
    return {**existing, "email": email_sealed, "request": request, "requests": (existing.get("requests") or 0) + 1}


def confirm(signup: dict, now: datetime) -> dict | None:
    """The sign-up once its link is posted: a member with the waiting request's details. None when there
    is nothing to confirm (already confirmed with the same details, or left)."""
    if signup.get("status") == "left":
        return None
    request = signup.get("request")
    if request is None:
        return None
    requested = as_dt(request.get("requested_at"))
    if requested is not None and now - requested > CONFIRM_WITHIN:
        return None  # a stale request; joining again sends a fresh link
    return {**signup, "status": "member", "name": request["name"], "skills": list(request["skills"]),
            "divisions": list(request["divisions"]), "locale": request["locale"],
            "confirmed_at": signup.get("confirmed_at") or now, "request": None}


def left(signup: dict, now: datetime) -> dict:
    """A sign-up after its owner left: no personal data kept, only that it existed and when it ended."""
    return {"_id": signup["_id"], "status": "left", "name": "", "skills": [], "divisions": [],
            "locale": signup.get("locale") or "en", "request": None, "requests": signup.get("requests") or 0,
            "created_at": signup.get("created_at"), "confirmed_at": signup.get("confirmed_at"), "left_at": now}


def build_member_entry(signup: dict, pooled_at: datetime, retention_days: int) -> dict:
    """A confirmed member's pool entry: their skills and divisions of interest, no prior interview."""
    held = list(signup.get("skills") or [])
    return {
        "_id": signup["_id"],
        "candidate_id": signup["_id"],
        "name": signup.get("name") or "",
        "skills": held,
        "skills_norm": sorted(skills.normalized(held)),
        "divisions": sorted(set(signup.get("divisions") or [])),
        "prior": {"requisition_id": None, "requisition_title": None, "application_id": None, "division": None,
                  "average": None, "by_competency": {}, "decided_at": None},
        "reason": COMMUNITY,
        "pooled_at": pooled_at,
        "retain_until": pooled_at + timedelta(days=retention_days),
    }


def wants_division(entry: dict, division: str | None) -> bool:
    """A community member matches only the requisitions of the divisions they named (none: every one);
    anyone pooled after an interview matches any division (the pool is group-wide)."""
    wanted = entry.get("divisions") or []
    return entry.get("reason") != COMMUNITY or not wanted or division in wanted


def supersedes(new: dict, existing: dict | None) -> bool:
    """One entry per candidate, the latest: a redelivered or older pooling never replaces a newer one."""
    return existing is None or new["pooled_at"] >= existing["pooled_at"]


def is_active(entry: dict, now: datetime, hired: bool = False) -> bool:
    return not hired and entry["retain_until"] > now


# --- the application projection -----------------------------------------------------------------------
#
# One document per application, created by whichever of `application_received` and
# `application_status_changed` arrives first (they travel on different queues): each fills in what it knows
# and what the other brings later is merged in, so both orders give the same document.

def new_application(application_id: str) -> dict:
    """The projection before any event filled it in."""
    return {
        "application_id": application_id, "candidate_id": None, "requisition_id": None, "division": None,
        "source": None, "requisition_title": None, "reengagement_id": None, "received_at": None,
        "status": "received", "previous_status": None, "status_at": None, "status_sequence": None,
        "consent": None, "decision": None, "interview": None, "reached_interviewed": False, "offered_at": None,
    }


def apply_received(app: dict | None, received: dict) -> dict:
    """`application_received` merged into the projection (`received`: application_id, candidate_id,
    requisition_id, requisition_title, division, source, received_at, consent, reengagement_id).
    What a status change already set stays: it is the later word on the status, the consent (status changes
    carry the latest), the division, title, source and re-engagement."""
    app = dict(app) if app is not None else new_application(received["application_id"])
    app.update(candidate_id=received["candidate_id"], requisition_id=received["requisition_id"],
               received_at=received["received_at"])
    if received.get("seen_at") and not app.get("seen_at"):
        app["seen_at"] = received["seen_at"]  # when talent_pool first heard of it (a redelivery changes nothing)
    for key in ("division", "source", "requisition_title", "reengagement_id"):
        if app.get(key) is None:
            app[key] = received[key]
    if app.get("status_at") is None:
        app["consent"] = received["consent"]
    if pool_due(app):
        app["pool_due"] = True
    return app


def apply_status_change(app: dict | None, change: dict, *, requisition_closed: bool | None = None) -> dict:
    """`application_status_changed` merged into the projection (`change`: the event's payload, datetimes
    parsed). A change older than the one held (`sequence`, then `at`) changes only the first offer's time.
    `requisition_closed`: for an offer, whether its requisition is known closed (None: unknown)."""
    app = dict(app) if app is not None else new_application(change["application_id"])
    for key in ("candidate_id", "requisition_id"):
        if app.get(key) is None:
            app[key] = change[key]
    if change["status"] == "offered" and not app.get("offered_at"):
        app["offered_at"] = change["at"]  # the report's time to offer, even when it arrives late
    if not status_supersedes(app.get("status_sequence"), app.get("status_at"), change["sequence"], change["at"]):
        return app
    app.update({
        "status": change["status"],
        "previous_status": change["previous_status"],
        "status_at": change["at"],
        "status_sequence": change["sequence"],
        "consent": change["consent"],
        "requisition_title": change["requisition_title"],
        "division": change["division"],
        "source": change["source"],
    })
    for key in ("decision", "interview", "reengagement_id"):
        if change.get(key):
            app[key] = change[key]
    app["reached_interviewed"] = reached_interviewed(app, change["previous_status"])
    if pool_due(app, requisition_closed=requisition_closed):
        app["pool_due"] = True
    else:
        app.pop("pool_due", None)
    return app


def pool_due(app: dict, *, requisition_closed: bool | None = None) -> bool:
    """Whether the projection, as it stands, may put its candidate in the pool: the pooling step then checks
    what lives elsewhere (hired, consent withdrawn on the portal, the requisition closed) and does it.
    Only once `application_received` was seen: the pool entry needs that division's profile of the person."""
    if app.get("received_at") is None:
        return False
    status = app.get("status")
    if status in UNHIRED_ENDINGS:
        return pool_reason(app, status) is not None
    return requisition_closed is not False and pool_reason_on_close(app) is not None


# --- matching ---------------------------------------------------------------------------------------

def split_skills(requisition: dict) -> tuple[list[str], list[str]]:
    """(required, nice-to-have) of a requisition document (shared/skills.py)."""
    return skills.split(requisition.get("required_skills") or [], requisition.get("skills") or [])


def recency_factor(decided_at: datetime | None, now: datetime) -> float:
    """1 for a decision made now, falling linearly to 0 at 365 days (and 0 when unknown)."""
    if decided_at is None:
        return 0.0
    age_days = max((now - decided_at).total_seconds(), 0) / 86400
    return max(0.0, 1 - age_days / RECENCY_DAYS)


def score(matched_required: int, required: int, matched_nice: int, nice: int, average: float | None,
          decided_at: datetime | None, now: datetime) -> int:
    value = W_REQUIRED * (matched_required / required if required else 1)
    value += W_NICE * (matched_nice / nice if nice else 1)
    value += W_AVERAGE * (min(max(average, 0), MAX_AVERAGE) / MAX_AVERAGE if average is not None else 0)
    value += W_RECENCY * recency_factor(decided_at, now)
    return max(0, min(100, round(value)))


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _day(dt: datetime | None) -> str:
    return dt.date().isoformat() if dt else "an unknown date"


POOLED_SENTENCES = {
    "declined": "Declined the previous offer",
    "no_show": "Did not start after accepting the previous offer",
    "withdrawn": "Withdrew from the previous application",
    REQUISITION_CLOSED: "The previous requisition closed while the offer was open",
    COMMUNITY: "Joined the talent community",
}


def reasons_for(entry: dict, required: list[str], nice: list[str], matched_required: list[str],
                missing_required: list[str], matched_nice: list[str]) -> list[str]:
    reasons: list[str] = []
    if missing_required:
        reasons.append(f"Missing required {_plural(len(missing_required), 'skill')}: "
                       + ", ".join(missing_required) + ".")
        if matched_required:
            reasons.append(f"Has {len(matched_required)} of {len(required)} required skills: "
                           + ", ".join(matched_required) + ".")
    else:
        reasons.append(f"Has all {len(required)} required {_plural(len(required), 'skill')}: "
                       + ", ".join(required) + ".")
    if nice:
        reasons.append(f"Has {len(matched_nice)} of {len(nice)} nice-to-have {_plural(len(nice), 'skill')}"
                       + (": " + ", ".join(matched_nice) if matched_nice else "") + ".")
    if entry.get("reason") == COMMUNITY:
        wanted = entry.get("divisions") or []
        interest = ", ".join(wanted) if wanted else "any division"
        reasons.append("No prior interview with us: no interview score in this match.")
        reasons.append(f"Joined the talent community on {_day(entry.get('pooled_at'))} (interested in {interest}).")
        return reasons
    prior = entry.get("prior") or {}
    title = prior.get("requisition_title") or "a previous role"
    where = f"{title} ({prior['division']})" if prior.get("division") else title
    average = prior.get("average")
    with_average = f" with an average of {average:.1f}/5" if average is not None else ""
    reasons.append(f"Passed the interview for {where}{with_average} on {_day(prior.get('decided_at'))}.")
    lead = POOLED_SENTENCES.get(entry.get("reason"), "In the talent pool")
    reasons.append(f"{lead}; in the talent pool since {_day(entry.get('pooled_at'))}.")
    return reasons


def match_one(entry: dict, requisition: dict, now: datetime) -> dict:
    """How one pooled candidate measures up to the requisition (with the ranking key fields)."""
    found = skills.match(entry.get("skills") or [], requisition.get("required_skills") or [],
                         requisition.get("skills") or [])
    required, nice = found.required, found.nice
    prior = entry.get("prior") or {}
    average = prior.get("average")
    return {
        "candidate_id": entry["candidate_id"],
        "name": entry.get("name") or "",
        "score": score(len(found.matched_required), len(required), len(found.matched_nice), len(nice), average,
                       prior.get("decided_at"), now),
        "matched_skills": found.matched,
        "missing_skills": found.missing,
        "prior_average": average,
        "reasons": reasons_for(entry, required, nice, found.matched_required, found.missing_required,
                               found.matched_nice),
        "pooled_reason": entry.get("reason"),
        "has_all_required": found.has_all_required,
        "_decided_at": prior.get("decided_at"),
    }


def rank_key(match: dict) -> tuple:
    decided = match.get("_decided_at")
    return (
        not match["has_all_required"],
        -match["score"],
        -(match["prior_average"] if match["prior_average"] is not None else -1),
        -(decided.timestamp() if decided else 0),
        match["candidate_id"],
    )


def excluded(entry: dict, now: datetime, applying: set[str], hired: set[str], division: str | None = None) -> bool:
    cid = entry["candidate_id"]
    return cid in applying or cid in hired or not is_active(entry, now) or not wants_division(entry, division)


def find_matches(requisition: dict, entries: Iterable[dict], now: datetime, *, applying: Iterable[str] = (),
                 hired: Iterable[str] = (), limit: int = MAX_MATCHES) -> list[dict]:
    """The ranked matches of a requisition among pool entries, in the api-v1 shape (without times)."""
    applying, hired = set(applying), set(hired)
    found = []
    for entry in entries:
        if excluded(entry, now, applying, hired, requisition.get("division")):
            continue
        m = match_one(entry, requisition, now)
        if not m["matched_skills"]:
            continue  # nothing in common with the role: not a match
        found.append(m)
    found.sort(key=rank_key)
    return [{k: v for k, v in m.items() if k not in ("has_all_required", "_decided_at")} for m in found[:limit]]


# --- fast track -------------------------------------------------------------------------------------

def within_window(decided_at: datetime | None, now: datetime, window_seconds: int) -> bool:
    """The prior decision is at most `window_seconds` old (a decision dated ahead of `now` counts as new)."""
    if decided_at is None:
        return False
    return now - decided_at <= timedelta(seconds=window_seconds)


def fast_track_eligible(decided_at: datetime | None, now: datetime, window_seconds: int,
                        candidate_skills: Iterable[str], required_skills: Iterable[str]) -> bool:
    """Skip the second interview: the prior pass is recent enough and covers every required skill."""
    return within_window(decided_at, now, window_seconds) and skills.covers(candidate_skills, required_skills)


def answer_status(response: str) -> str:
    if response == "accept":
        return "accepted"
    if response == "decline":
        return "declined"
    raise ValueError(f"unknown response {response!r}")


def as_dt(value: Any) -> datetime | None:
    """Datetimes in payload dicts (dumped as JSON) come back as ISO strings."""
    if value is None or isinstance(value, datetime):
        return value
    return parse_time(value)


def consent_withdrawn_for(candidate: dict, app: dict) -> bool:
    """Consent withdrawn on the portal covers every application received before the withdrawal; a later
    application with consent gives it anew."""
    withdrawn = candidate.get("consent_withdrawn_at")
    if withdrawn is None:
        return False
    received = app.get("received_at")
    return received is None or parse_time(received) <= parse_time(withdrawn)


# --- the talent-pool report -------------------------------------------------------------------------

ANSWERED = ("accepted", "declined")
DAY_SECONDS = 86400


def is_fast_tracked(app: dict) -> bool:
    """An application that came from a re-engagement (the candidate accepted it on the portal)."""
    return bool(app.get("reengagement_id")) or app.get("source") == "talent_pool"


def talent_pool_report(records: dict[str, list], now: datetime) -> dict[str, Any]:
    """The figures of GET /v1/reports/talent-pool from the store's `report_records`:

    - pool_size: entries in the pool now (not past retain_until, not hired), whatever the period.
    - pooled: distinct candidates who entered the pool in the period.
    - resurfaced: distinct candidates ever matched to a requisition opened in the period.
    - reengaged: re-engagements requested in the period; reengagement_answered: those the candidate
      accepted or declined; reengagement_accepted; acceptance_rate = accepted / answered (4 decimals).
    - urgent_time_to_offer_days: for urgent requisitions opened in the period, the days from the
      requisition's opening to each offer on it, split into applications from a re-engagement
      (`fast_tracked`) and the others (`new`): `{count, median, p90}` (nearest rank, 3 decimals)."""
    hired = set(records["hired"])
    reengagements = records["reengagements"]
    answered = [r for r in reengagements if r.get("status") in ANSWERED]
    accepted = sum(1 for r in answered if r["status"] == "accepted")
    opened = {r["_id"]: r.get("created_at") for r in records["requisitions"]}
    days: dict[str, list[float]] = {"fast_tracked": [], "new": []}
    for app in records["applications"]:
        start, offered = opened.get(app.get("requisition_id")), app.get("offered_at")
        if start is None or offered is None:
            continue
        kind = "fast_tracked" if is_fast_tracked(app) else "new"
        days[kind].append(max(0.0, (as_dt(offered) - as_dt(start)).total_seconds()) / DAY_SECONDS)
    surfaced: set[str] = set()
    for m in records["matches"]:
        surfaced.update(m.get("surfaced") or [])
        surfaced.update(i["candidate_id"] for i in m.get("items") or [])
    return {
        "pool_size": sum(1 for e in records["pool"] if is_active(e, now, e["candidate_id"] in hired)),
        "pooled": len({p["candidate_id"] for p in records["poolings"]}),
        "resurfaced": len(surfaced),
        "reengaged": len(reengagements),
        "reengagement_answered": len(answered),
        "reengagement_accepted": accepted,
        "acceptance_rate": stats.rate(accepted, len(answered)),
        "urgent_time_to_offer_days": {kind: {"count": len(values), **stats.summary(values)}
                                      for kind, values in days.items()},
    }


# --- stored match lists (docs/decisions/005-stored-match-lists.md) -----------------------------------

# A stored list is recomputed at least this often (the recency part of the score drifts by a point in
# about 36 days; a day keeps it exact in practice), and when its first entry's `retain_until` passes.
LIST_MAX_AGE = timedelta(days=1)


def skills_norm(requisition: dict) -> dict[str, list[str]]:
    """A requisition's normalised required and nice-to-have skills (what a stored list is checked against)."""
    required, nice = split_skills(requisition)
    return {"required": sorted(skills.normalized(required)), "nice": sorted(skills.normalized(nice))}


def list_floor(requisition: dict, items: list[dict], limit: int = MAX_MATCHES) -> list | None:
    """[has every required skill, score] of the last of a full list: a candidate ranking below it cannot
    enter. None while the list is not full (anyone sharing a skill can)."""
    if len(items) < limit:
        return None
    required, _ = split_skills(requisition)
    last = items[-1]
    return [skills.covers(last.get("matched_skills") or [], required), last["score"]]


def refresh_due(computed_at: datetime, retain_untils: Iterable[datetime]) -> datetime:
    """When a list computed at `computed_at` must be computed again: its first entry leaving the pool by
    age, or LIST_MAX_AGE."""
    return min([computed_at + LIST_MAX_AGE, *retain_untils])


def could_change_list(entry: dict | None, candidate_id: str, stored: dict, now: datetime) -> bool:
    """Whether a pool change of one candidate (`entry` as it is now, None when out of the pool) can change a
    stored list (`items` candidate ids, `skills_norm`, `floor`): the candidate is on it, or now shares a
    skill with the requisition and scores at least as high as its last entry. Conservative on ties (the
    recompute decides)."""
    if any(i.get("candidate_id") == candidate_id for i in stored.get("items") or []):
        return True
    if entry is None or entry["retain_until"] <= now:
        return False
    wanted = stored.get("skills_norm") or {}
    required, nice = wanted.get("required") or [], wanted.get("nice") or []
    held = skills.normalized(entry.get("skills") or [])
    matched_required = sum(1 for s in required if s in held)
    matched_nice = sum(1 for s in nice if s in held)
    if not matched_required + matched_nice:
        return False
    floor = stored.get("floor")
    if floor is None:
        return True
    prior = entry.get("prior") or {}
    value = score(matched_required, len(required), matched_nice, len(nice), prior.get("average"),
                  prior.get("decided_at"), now)
    return (matched_required == len(required), value) >= (bool(floor[0]), floor[1])


def affected_lists(changed: dict[str, dict | None], stored_lists: Iterable[dict], now: datetime) -> list[str]:
    """The ids of the stored lists that the changed pool entries (candidate id -> entry or None) can change."""
    return [stored["_id"] for stored in stored_lists
            if any(could_change_list(entry, cid, stored, now) for cid, entry in changed.items())]
