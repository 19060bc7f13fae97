"""Interview feedback rules: scorecards, their summary, decisions and approval chains. Pure functions, no I/O.

- A scorecard rates every competency of its interview, exactly once (competencies compare like skills:
  case-insensitively after trimming); the interviewer must sit on the panel.
- The summary: `average` of every rating (2 decimals), the mean per competency, the count of each
  recommendation, and the discrepancy: a competency whose ratings differ by 2 or more points is flagged.
- An interviewer sees only its own scorecard, and no summary, until it has submitted one.
- A decision moves the application: fail -> rejected; pass -> offered (basic) or awaiting_approval (core).
- A core pass opens an approval chain: step 1 by `hr`, then step 2 by `admin`, each with an `expected_by`
  from the division's approval SLA. A step is decided by its role, only after its predecessor was approved,
  and only once; a rejection ends the chain.
- Scheduling (the interviews issue): a time, or 2-10 future slots for the candidate to pick (status
  awaiting_candidate). An interview is open while awaiting_candidate or scheduled; only an open one changes.
  `sequence` (the calendar SEQUENCE) is 0 when the interview first has a time and is raised by every change
  after that (a reschedule, a new place or panel, the cancellation). A panel member already in an overlapping
  open or complete interview is a clash: refused (409 naming `interviewers`, or `slots`/`starts_at`) unless
  the scheduler says `allow_clash`; then the interview lists its clashes. Attendance is recorded after the
  start. A fail decision may come at any stage from shortlisted on, and cancels the open interview.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from shared import stats
from shared.contracts.common import Recommendation, Tier, normalize_skill
from shared.errors import Conflict, Forbidden, Invalid

DISCREPANCY_POINTS = 2
APPROVAL_ROLES = ("hr", "admin")  # step 1, step 2

AWAITING_CANDIDATE = "awaiting_candidate"
SCHEDULED = "scheduled"
COMPLETE = "complete"
CANCELLED = "cancelled"
OPEN = (AWAITING_CANDIDATE, SCHEDULED)  # an interview that can still change
MAX_TIMES_REQUESTS = 10  # the candidate's "other times, please" kept per interview

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"

CHAIN_PENDING = "pending"
CHAIN_APPROVED_ALL = "approved_all"
CHAIN_REJECTED = "rejected"


# ----------------------------------------------------------------------------------------------------
# scorecards


def canonical_ratings(competencies: Sequence[str], ratings: dict[str, int]) -> dict[str, int]:
    """The ratings keyed by the interview's own spelling of each competency, in the interview's order.

    Raises Invalid (field `ratings`) naming a competency that is missing, unknown or rated twice."""
    by_norm = {normalize_skill(c): c for c in competencies}
    given: dict[str, int] = {}
    for key, value in ratings.items():
        canonical = by_norm.get(normalize_skill(key))
        if canonical is None:
            raise Invalid(f"ratings: '{key}' is not a competency of this interview "
                          f"(expected: {', '.join(competencies)})", field="ratings")
        if canonical in given:
            raise Invalid(f"ratings: '{canonical}' is rated more than once", field="ratings")
        given[canonical] = value
    missing = [c for c in competencies if c not in given]
    if missing:
        raise Invalid(f"ratings: missing a rating for {', '.join(missing)}", field="ratings")
    return {c: given[c] for c in competencies}


def check_scorecard_author(caller_role: str, caller_name: str, interviewer: str, panel: Sequence[str]) -> None:
    """An interviewer key submits only for itself (else Forbidden); the card's author must be on the panel."""
    if caller_role == "interviewer" and interviewer != caller_name:
        raise Forbidden(f"an interviewer may only submit its own scorecard, not {interviewer}'s")
    if interviewer not in panel:
        raise Invalid(f"interviewer: {interviewer} is not on this interview's panel", field="interviewer")


def validate_scorecard(interview: dict, caller_role: str, caller_name: str, interviewer: str,
                       ratings: dict[str, int]) -> dict[str, int]:
    """All checks of a scorecard against its interview; returns the canonical ratings."""
    check_scorecard_author(caller_role, caller_name, interviewer, interview["interviewers"])
    return canonical_ratings(interview["competencies"], ratings)


def panel_complete(panel: Iterable[str], submitted: Iterable[str]) -> bool:
    return set(panel) <= set(submitted)


def on_panel(caller_role: str, caller_name: str, panel: Sequence[str]) -> bool:
    """Whether the caller may look at an interview at all (division scope aside)."""
    return caller_role != "interviewer" or caller_name in panel


def visible_scorecards(caller_role: str, caller_name: str, scorecards: list[dict]) -> tuple[list[dict], bool]:
    """(the scorecards the caller may read, whether it may read the summary).

    An interviewer sees only its own card, and no summary, until it has submitted; everyone else sees all."""
    if caller_role != "interviewer":
        return scorecards, True
    if any(card["interviewer"] == caller_name for card in scorecards):
        return scorecards, True
    return [card for card in scorecards if card["interviewer"] == caller_name], False


# ----------------------------------------------------------------------------------------------------
# summary


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 2)


def _ratings_by_competency(scorecards: Sequence[dict], competencies: Sequence[str] | None) -> dict[str, list[int]]:
    order = list(competencies) if competencies else []
    for card in scorecards:
        order.extend(c for c in card["ratings"] if c not in order)
    collected: dict[str, list[int]] = {c: [] for c in order}
    for card in scorecards:
        for competency, rating in card["ratings"].items():
            collected[competency].append(rating)
    return {c: r for c, r in collected.items() if r}


def discrepancy(by_competency_ratings: dict[str, list[int]]) -> dict[str, Any]:
    """A competency whose ratings differ by DISCREPANCY_POINTS or more is flagged; spread = max - min."""
    spread = {c: max(r) - min(r) for c, r in by_competency_ratings.items() if r}
    flagged = [c for c, s in spread.items() if s >= DISCREPANCY_POINTS]
    return {"flagged": bool(flagged), "competencies": flagged, "spread": spread}


def recommendation_counts(scorecards: Sequence[dict]) -> dict[str, int]:
    counts = {r.value: 0 for r in Recommendation}
    for card in scorecards:
        counts[card["recommendation"]] = counts.get(card["recommendation"], 0) + 1
    return counts


def summarize(scorecards: Sequence[dict], competencies: Sequence[str] | None = None) -> dict[str, Any] | None:
    """`{average, by_competency, recommendations, discrepancy}` over the submitted cards; None without any."""
    if not scorecards:
        return None
    ratings = _ratings_by_competency(scorecards, competencies)
    every = [r for values in ratings.values() for r in values]
    return {
        "average": _mean(every) if every else None,
        "by_competency": {c: _mean(r) for c, r in ratings.items()},
        "recommendations": recommendation_counts(scorecards),
        "discrepancy": discrepancy(ratings),
    }


def merge_highlights(scorecards: Sequence[dict]) -> list[str]:
    """Every card's highlights in submission order, each once (compared case- and space-insensitively)."""
    seen: set[str] = set()
    merged: list[str] = []
    for card in scorecards:
        for text in card.get("highlights") or []:
            key = " ".join(text.split()).casefold()
            if key and key not in seen:
                seen.add(key)
                merged.append(text)
    return merged


# ----------------------------------------------------------------------------------------------------
# decisions


def next_status(outcome: str, tier: str) -> str:
    if outcome == "fail":
        return "rejected"
    if outcome != "pass":
        raise Invalid(f"outcome: unknown outcome '{outcome}'", field="outcome")
    if tier == Tier.basic:
        return "offered"
    if tier == Tier.core:
        return "awaiting_approval"
    raise Conflict(f"the requisition's tier '{tier}' is unknown; cannot decide", code="unknown_tier")


def approval_steps(ids: Sequence[str], now: datetime, sla_seconds: int) -> list[dict[str, Any]]:
    """The chain for a core pass: step n (role APPROVAL_ROLES[n-1]) is expected n SLAs from now."""
    if len(ids) != len(APPROVAL_ROLES):
        raise ValueError(f"need {len(APPROVAL_ROLES)} ids, got {len(ids)}")
    return [
        {
            "id": step_id,
            "step": n,
            "role": role,
            "status": PENDING,
            "expected_by": now + timedelta(seconds=n * sla_seconds),
            "decided_at": None,
            "decided_by": None,
            "note": None,
        }
        for n, (step_id, role) in enumerate(zip(ids, APPROVAL_ROLES, strict=True), start=1)
    ]


def chain_status(steps: Sequence[dict]) -> str:
    if any(s["status"] == REJECTED for s in steps):
        return CHAIN_REJECTED
    if steps and all(s["status"] == APPROVED for s in steps):
        return CHAIN_APPROVED_ALL
    return CHAIN_PENDING


def next_pending(steps: Sequence[dict]) -> dict | None:
    """The step waiting for a decision now; None once the chain is finished (all approved, or rejected)."""
    if chain_status(steps) != CHAIN_PENDING:
        return None
    return next((s for s in sorted(steps, key=lambda s: s["step"]) if s["status"] == PENDING), None)


def check_approval(steps: Sequence[dict], step_id: str, caller_role: str) -> dict:
    """May a caller of this role decide this step now? Returns the step, or raises Forbidden / Conflict."""
    step = next((s for s in steps if s["id"] == step_id), None)
    if step is None:
        raise ValueError(f"step {step_id} is not in this chain")
    if caller_role != "system" and caller_role != step["role"]:
        raise Forbidden(f"approval step {step['step']} is decided by role '{step['role']}', not '{caller_role}'")
    if step["status"] != PENDING:
        raise Conflict(f"approval step {step['step']} was already {step['status']}", code="already_decided")
    if chain_status(steps) == CHAIN_REJECTED:
        raise Conflict("this approval chain was already rejected", code="already_decided")
    before = [s for s in steps if s["step"] < step["step"]]
    waiting = [s for s in before if s["status"] != APPROVED]
    if waiting:
        first = min(waiting, key=lambda s: s["step"])
        raise Conflict(f"approval step {step['step']} must wait until step {first['step']} "
                       f"(role '{first['role']}') is approved", code="out_of_order")
    return step


def decide_approval(steps: Sequence[dict], step_id: str, caller_role: str, caller_name: str, decision: str,
                    note: str | None, now: datetime, sla_seconds: int) -> dict[str, Any]:
    """Apply one decision to a chain. Returns `{steps, step, next_step, chain_status}` (new dicts).

    Approving a step re-bases the next step's `expected_by` to now + one SLA: its reviewer's clock starts
    when the work reaches them."""
    check_approval(steps, step_id, caller_role)
    if decision not in ("approve", "reject"):
        raise Invalid(f"decision: unknown decision '{decision}'", field="decision")
    updated = [dict(s) for s in sorted(steps, key=lambda s: s["step"])]
    step = next(s for s in updated if s["id"] == step_id)
    step.update(status=APPROVED if decision == "approve" else REJECTED, decided_at=now, decided_by=caller_name,
                note=note)
    if step["status"] == APPROVED:
        following = next((s for s in updated if s["step"] == step["step"] + 1), None)
        if following is not None and following["status"] == PENDING:
            following["expected_by"] = now + timedelta(seconds=sla_seconds)
    return {
        "steps": updated,
        "step": step,
        "next_step": next_pending(updated),
        "chain_status": chain_status(updated),
    }


def approval_queue(chains: dict[str, list[dict]], caller_role: str, now: datetime) -> list[dict[str, Any]]:
    """The steps waiting for a decision now, one per unfinished chain, the longest expected first.

    A step counts only when it is its chain's next one (its predecessors approved, nothing rejected): a
    group HR step is not in anyone's queue while division HR is still reviewing. HR sees the steps of its
    role; group HR (admin) sees every waiting step and may decide its own. Each carries `overdue` (past
    `expected_by`) and `can_decide`."""
    queue = []
    for steps in chains.values():
        step = next_pending(steps)
        if step is None or (caller_role != "admin" and step["role"] != caller_role):
            continue
        queue.append({**step, "overdue": step["expected_by"] <= now,
                      "can_decide": caller_role in ("system", step["role"])})
    return sorted(queue, key=lambda s: (s["expected_by"], s["id"]))


# ----------------------------------------------------------------------------------------------------
# the interviewers report


def in_discrepancy(card: dict, flagged: dict[str, tuple[int, int]]) -> bool:
    """Whether a card's rating of some flagged competency is that competency's min or max on the interview,
    i.e. its rating is one end of the spread that raised the flag. `flagged`: competency -> (min, max)."""
    return any(card["ratings"].get(c) in ends for c, ends in flagged.items())


def flagged_spreads(cards: Sequence[dict]) -> dict[str, tuple[int, int]]:
    """The interview's flagged competencies (spread >= DISCREPANCY_POINTS) with their (min, max)."""
    ratings = _ratings_by_competency(cards, None)
    flagged = discrepancy(ratings)["competencies"]
    return {c: (min(ratings[c]), max(ratings[c])) for c in flagged}


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds()) / 3600


def interviewer_report(cards: Sequence[dict], interviews: dict[str, dict],
                       interview_cards: dict[str, Sequence[dict]]) -> list[dict[str, Any]]:
    """Per interviewer, over `cards` (the scorecards in scope), sorted by name:

    - scorecards: how many they submitted.
    - mean_rating: the mean of every rating on their cards (each competency counts once per card), 3 decimals.
    - leniency_z: (their mean_rating - the mean of every interviewer's mean_rating in scope) / the population
      standard deviation of those means, 3 decimals; null with fewer than 2 interviewers or no spread.
    - discrepancy_scorecards: their cards on an interview flagged for a discrepancy (any competency whose
      ratings, over all the interview's cards, differ by 2 or more) where their rating of a flagged
      competency is the min or the max of that competency's ratings: their rating was part of the spread.
      discrepancy_rate = discrepancy_scorecards / scorecards, 4 decimals.
    - median_submission_delay_hours: the median over their cards of submitted_at - the interview's
      scheduled_at, floored at 0 (a card written before the planned time counts as on time), 3 decimals.

    `interviews`: interview id -> the interview (scheduled_at); `interview_cards`: interview id -> every
    card of that interview (in scope or not: the flag is the interview's)."""
    flags = {iid: flagged_spreads(cs) for iid, cs in interview_cards.items()}
    by_interviewer: dict[str, list[dict]] = {}
    for card in cards:
        by_interviewer.setdefault(card["interviewer"], []).append(card)
    means = {name: stats.mean([r for c in mine for r in c["ratings"].values()])
             for name, mine in by_interviewer.items()}
    z = stats.zscores({n: m for n, m in means.items() if m is not None})
    out = []
    for name, mine in sorted(by_interviewer.items()):
        in_flag = sum(1 for c in mine if in_discrepancy(c, flags.get(c["interview_id"]) or {}))
        delays = [_hours(interviews[c["interview_id"]]["scheduled_at"], c["submitted_at"]) for c in mine
                  if c["interview_id"] in interviews]
        out.append({
            "interviewer": name,
            "scorecards": len(mine),
            "mean_rating": stats.rounded(means[name]),
            "leniency_z": stats.rounded(z.get(name)),
            "discrepancy_scorecards": in_flag,
            "discrepancy_rate": stats.rate(in_flag, len(mine)),
            "median_submission_delay_hours": stats.rounded(stats.median(delays)),
        })
    return out


# ----------------------------------------------------------------------------------------------------
# scheduling (the interviews issue)


def ends_at(doc: dict) -> datetime | None:
    start = doc.get("scheduled_at")
    return None if start is None else start + timedelta(minutes=doc.get("duration_minutes") or 60)


def future_slots(slots: Sequence[datetime], now: datetime) -> list[datetime]:
    """The offered start times, sorted; a slot not in the future is refused (422 naming `slots`)."""
    past = [s for s in slots if s <= now]
    if past:
        raise Invalid(f"slots: {past[0].isoformat()} is not in the future", field="slots")
    return sorted(slots)


def meeting_url(fmt: str, given: str | None, template: str | None, interview_id: str) -> str | None:
    """The link a video interview is held at: the one given, else the division's template with the id."""
    if given or fmt != "video" or not template:
        return given
    return template.replace("{interview_id}", quote(interview_id, safe=""))


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def clashes(panel: Sequence[str], start: datetime, minutes: int, others: Iterable[dict],
            exclude: str | None = None) -> list[dict[str, Any]]:
    """Panel members already in another interview (open with a time, or complete) overlapping
    [start, start + minutes): one entry per (interviewer, interview), by start time."""
    end = start + timedelta(minutes=minutes)
    found = []
    for other in others:
        if other["_id"] == exclude or other.get("status") not in (SCHEDULED, COMPLETE):
            continue
        other_end = ends_at(other)
        if other_end is None or not _overlap(start, end, other["scheduled_at"], other_end):
            continue
        for name in panel:
            if name in other.get("interviewers", []):
                found.append({"interviewer": name, "interview_id": other["_id"], "division": other.get("division"),
                              "starts_at": other["scheduled_at"], "ends_at": other_end})
    return sorted(found, key=lambda c: (c["starts_at"], c["interviewer"], c["interview_id"]))


def refuse_clashes(found: Sequence[dict], field: str) -> None:
    if found:
        first = found[0]
        names = sorted({c["interviewer"] for c in found})
        raise Conflict(f"{field}: {', '.join(names)} already sit(s) in an interview at "
                       f"{first['starts_at'].isoformat()}-{first['ends_at'].isoformat()}; choose another time or "
                       "send allow_clash: true", code="interviewer_clash", field="interviewers")


def check_open(doc: dict, doing: str) -> None:
    if doc["status"] not in OPEN:
        raise Conflict(f"interview {doc['_id']} is {doc['status']}; it cannot be {doing}", code="interview_closed")


PATCHABLE = ("starts_at", "duration_minutes", "timezone", "format", "location", "meeting_url", "instructions",
             "interviewers")


def patched(doc: dict, changes: dict[str, Any], scorers: Iterable[str] = ()) -> tuple[dict, list[str]]:
    """The interview with `changes` (parsed values; `starts_at` a datetime) and the fields that really
    changed; `sequence` is raised once when anything did. A time given to an interview awaiting the
    candidate schedules it (its slots are dropped). A panel member who already sent a scorecard stays."""
    check_open(doc, "changed")
    new = dict(doc)
    changed = []
    for name in PATCHABLE:
        if name not in changes:
            continue
        key = "scheduled_at" if name == "starts_at" else name
        if new.get(key) != changes[name]:
            new[key] = changes[name]
            changed.append(name)
    kept = [n for n in scorers if n not in new["interviewers"]]
    if kept:
        raise Conflict(f"interviewers: {', '.join(kept)} already submitted a scorecard and stays on the panel",
                       code="scorecard_submitted", field="interviewers")
    if "starts_at" in changed and new["status"] == AWAITING_CANDIDATE:
        new.update(status=SCHEDULED, slots=[])
    if changed and doc.get("scheduled_at") is not None:
        new["sequence"] = doc.get("sequence", 0) + 1
    return new, changed


def picked(doc: dict, starts_at: datetime, now: datetime) -> dict:
    """The interview once the candidate picked `starts_at`: 409 unless it is one of the slots still offered."""
    if doc["status"] != AWAITING_CANDIDATE:
        raise Conflict("this interview is not waiting for the candidate to pick a time", code="slot_unavailable",
                       field="starts_at")
    if starts_at not in doc.get("slots", []):
        raise Conflict("starts_at: this time is not one of the slots offered", code="slot_not_offered",
                       field="starts_at")
    if starts_at <= now:
        raise Conflict("starts_at: this slot has passed", code="slot_unavailable", field="starts_at")
    return {**doc, "status": SCHEDULED, "scheduled_at": starts_at, "slots": [], "picked_at": now}


def cancelled(doc: dict, reason: str, by: str, now: datetime, by_rejection: bool = False) -> dict:
    check_open(doc, "cancelled")
    return {**doc, "status": CANCELLED, "live": False, "sequence": doc.get("sequence", 0) + 1,
            "cancellation": {"reason": reason, "by_rejection": by_rejection, "cancelled_by": by, "cancelled_at": now}}


def with_attendance(doc: dict, candidate: str, by: str, now: datetime) -> dict:
    """Whether the candidate came; only once the interview has started (a correction replaces it)."""
    if doc["status"] not in (SCHEDULED, COMPLETE):
        raise Conflict(f"interview {doc['_id']} is {doc['status']}; attendance needs a held interview",
                       code="interview_closed")
    if doc["scheduled_at"] > now:
        raise Conflict(f"the interview starts at {doc['scheduled_at'].isoformat()}; attendance is recorded after "
                       "its start", code="interview_not_started", field="candidate")
    return {**doc, "attendance": {"candidate": candidate, "recorded_by": by, "recorded_at": now}}


def with_times_request(doc: dict, note: str, now: datetime) -> dict:
    if doc["status"] != AWAITING_CANDIDATE:
        raise Conflict("this interview is not waiting for the candidate to pick a time", code="slot_unavailable")
    requests = list(doc.get("other_times_requested") or [])
    if len(requests) >= MAX_TIMES_REQUESTS:
        raise Conflict("other times were already asked for; HR will be in touch", code="already_requested")
    return {**doc, "other_times_requested": [*requests, {"note": note, "requested_at": now}]}


def open_slots(doc: dict, taken: Iterable[datetime]) -> list[datetime]:
    """The slots still worth offering the candidate: not taken by the panel meanwhile."""
    blocked = set(taken)
    return [s for s in doc.get("slots", []) if s not in blocked]


def kit_for(kit: dict | None, competencies: Sequence[str]) -> dict | None:
    """The requisition's kit as the panel reads it: the interview's competencies first (matched like skills),
    then the kit's others."""
    if not kit:
        return None
    entries = kit["competencies"]
    by_norm = {normalize_skill(name): name for name in entries}
    first = [by_norm[n] for n in (normalize_skill(c) for c in competencies) if n in by_norm]
    ordered = first + [name for name in entries if name not in first]
    return {**kit, "competencies": {name: entries[name] for name in ordered}}
