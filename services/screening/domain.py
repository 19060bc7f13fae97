"""Screening rules: how an application measures up to its requisition. Pure functions, no I/O.

- Knock-outs: a missing required skill, fewer years than `min_years`, or a knock-out question answered
  other than required screens the candidate out.
- `match`: the share of the requisition's skills (required plus nice-to-have) the candidate has, in %.
- `score`: required skills weigh 60, nice-to-have 20, experience 10, location 10; knock-outs cap it at 40.
- `reasons`: sentences a recruiter can read, one per finding.
"""

from __future__ import annotations

from shared import skills
from shared.contracts.common import normalize_skill
from shared.contracts.events import CandidateSnapshot, RequisitionSnapshot, ScreeningResult

KNOCKED_OUT_SCORE_CAP = 40


def _years(value: float) -> str:
    return f"{value:g} year" + ("" if value == 1 else "s")


def location_matches(required: str | None, actual: str | None) -> bool | None:
    """None when the requisition does not ask for a place (or says remote)."""
    if not required or normalize_skill(required) in ("remote", "anywhere"):
        return None
    if not actual:
        return False
    return normalize_skill(required) == normalize_skill(actual)


def screen(
    req: RequisitionSnapshot, cand: CandidateSnapshot, answers: dict[str, bool] | None = None
) -> ScreeningResult:
    answers = answers or {}
    found = skills.match(cand.skills, req.required_skills, req.skills)
    required, nice = found.required, found.nice
    matched_required, missing_required = found.matched_required, found.missing_required
    matched_nice = found.matched_nice

    reasons: list[str] = []
    knocked_out = False

    if missing_required:
        knocked_out = True
        reasons.append("Missing required skill" + ("s" if len(missing_required) > 1 else "") + ": "
                       + ", ".join(missing_required) + ".")
    else:
        reasons.append(f"Has all {len(required)} required skill" + ("s" if len(required) > 1 else "")
                       + ": " + ", ".join(required) + ".")

    if cand.years_experience < req.min_years:
        knocked_out = True
        reasons.append(f"{_years(cand.years_experience).capitalize()} of experience, below the minimum of "
                       f"{_years(req.min_years)}.")
    elif req.min_years > 0:
        reasons.append(f"{_years(cand.years_experience).capitalize()} of experience meets the minimum of "
                       f"{_years(req.min_years)}.")

    for question in req.knockout_questions:
        qid, expected = question.get("id"), question.get("required_answer", True)
        given = answers.get(qid)
        if given is None:
            knocked_out = True
            reasons.append(f"Did not answer the knock-out question \"{question.get('question', qid)}\".")
        elif given != expected:
            knocked_out = True
            reasons.append(f"Knock-out question \"{question.get('question', qid)}\" answered "
                           f"{'yes' if given else 'no'}; this role requires {'yes' if expected else 'no'}.")

    if nice:
        reasons.append(f"Has {len(matched_nice)} of {len(nice)} nice-to-have skills"
                       + (": " + ", ".join(matched_nice) if matched_nice else "") + ".")

    loc = location_matches(req.location, cand.location)
    if loc is True:
        reasons.append(f"Located in {req.location}, as the role requires.")
    elif loc is False:
        reasons.append(f"Location {cand.location or 'not given'} differs from the role's location {req.location}.")

    total = len(required) + len(nice)
    match = round(100 * (len(matched_required) + len(matched_nice)) / total) if total else 100

    score = 60 * (len(matched_required) / len(required) if required else 1)
    score += 20 * (len(matched_nice) / len(nice) if nice else 1)
    if req.min_years > 0:
        score += 10 * min(cand.years_experience / req.min_years, 1)
    else:
        score += 10
    score += 10 if loc in (True, None) else 0
    score = round(score)
    if knocked_out:
        score = min(score, KNOCKED_OUT_SCORE_CAP)

    return ScreeningResult(
        passed=not knocked_out,
        score=score,
        match=match,
        matched_skills=found.matched,
        missing_skills=found.missing,
        reasons=reasons,
    )


def apply_override(result: ScreeningResult, passed: bool, by: str, reason: str, at: str) -> ScreeningResult:
    """A person overrides the machine: the verdict changes, the evidence stays, and the why is kept."""
    verdict = "passed" if passed else "screened out"
    return result.model_copy(update={
        "passed": passed,
        "override": {"by": by, "reason": reason, "at": at, "original_passed": result.passed},
        "reasons": [*result.reasons, f"Manually {verdict} by {by}: {reason}"],
    })
