"""Screening rules: how an application measures up to its requisition. Pure functions, no I/O.

- Knock-outs: a missing required skill, fewer years than `min_years`, or a knock-out question answered
  other than required screens the candidate out.
- `match`: the share of the requisition's skills (required plus nice-to-have) the candidate has, in %.
- `score`: required skills weigh 60, nice-to-have 20, experience 10, location 10; knock-outs cap it at 40.
- `reasons`: sentences a recruiter can read, one per finding.
- The CV (careers issue): the skills its reading found count with those typed; `skills_from_cv` lists the
  ones found only there, and the reasons say which matched skills came from it, that it could not be read,
  or that its reading had not arrived. Years stay as typed: more years stated in the CV are only mentioned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared import skills
from shared.contracts.common import normalize_skill
from shared.contracts.events import CandidateSnapshot, RequisitionSnapshot, ScreeningResult

KNOCKED_OUT_SCORE_CAP = 40

EXTRACTED = "extracted"
UNREADABLE = "unreadable"
NOT_ARRIVED = "not_arrived"  # screening's own: the reading had not come when the wait ran out


@dataclass(frozen=True)
class CvReading:
    """What screening knows of the application's CV when it screens."""

    status: str  # extracted | unreadable | not_arrived
    skills_found: tuple[str, ...] = ()
    years_found: float | None = None
    unreadable_reason: str | None = None
    waited_seconds: float | None = None  # not_arrived: how long it was waited for

    @classmethod
    def of(cls, read: Mapping[str, Any]) -> CvReading:
        """From a reading (the fields of sourcing's `document_read` of the CV)."""
        # Anything but a reading with text is an unreadable CV: its skills (if any) are not trusted.
        if read.get("text_status") != EXTRACTED:
            return cls(UNREADABLE, unreadable_reason=read.get("unreadable_reason"))
        return cls(EXTRACTED, tuple(read.get("skills_found") or ()), read.get("years_found"))

    @classmethod
    def not_arrived(cls, waited_seconds: float) -> CvReading:
        return cls(NOT_ARRIVED, waited_seconds=waited_seconds)


def _years(value: float) -> str:
    return f"{value:g} year" + ("" if value == 1 else "s")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} second" + ("" if seconds == 1 else "s")
    return f"{round(seconds / 60):g} minutes"


def skills_from_cv(typed: list[str], found: tuple[str, ...] | list[str]) -> list[str]:
    """The skills found in the CV that the candidate did not type, each once, as the reading spelled them."""
    held = skills.normalized(typed)
    return [s for s in skills.unique(found) if normalize_skill(s) not in held]


def cv_reasons(cv: CvReading, from_cv: list[str], matched: list[str], typed_years: float) -> list[str]:
    """What the CV did to the screening, in sentences a recruiter can read."""
    if cv.status == NOT_ARRIVED:
        return [f"The CV reading had not arrived after {_duration(cv.waited_seconds or 0)}: screened on the "
                "skills typed in the application."]
    if cv.status != EXTRACTED:
        why = f" ({cv.unreadable_reason})" if cv.unreadable_reason else ""
        return [f"The CV could not be read{why}: screened on the skills typed in the application."]
    from_cv_norm = skills.normalized(from_cv)
    matched_from_cv = [s for s in matched if normalize_skill(s) in from_cv_norm]
    if matched_from_cv:
        reasons = ["Found in the CV, not typed in the application: " + ", ".join(matched_from_cv) + "."]
    elif from_cv:
        reasons = ["Found in the CV, not typed in the application: " + ", ".join(from_cv)
                   + "; none of them is a skill this role asks for."]
    else:
        reasons = ["The CV was read: it names no skill beyond those typed in the application."]
    if cv.years_found is not None and cv.years_found > typed_years:
        reasons.append(f"The CV states {_years(cv.years_found)} of experience, more than the "
                       f"{_years(typed_years)} typed in the application; screened on the typed figure.")
    return reasons


def location_matches(required: str | None, actual: str | None) -> bool | None:
    """None when the requisition does not ask for a place (or says remote)."""
    if not required or normalize_skill(required) in ("remote", "anywhere"):
        return None
    if not actual:
        return False
    return normalize_skill(required) == normalize_skill(actual)


def screen(
    req: RequisitionSnapshot, cand: CandidateSnapshot, answers: dict[str, bool] | None = None,
    cv: CvReading | None = None,
) -> ScreeningResult:
    """`cv`: the application came with a CV (None: it did not, and nothing is said about one)."""
    answers = answers or {}
    from_cv = skills_from_cv(cand.skills, cv.skills_found) if cv is not None and cv.status == EXTRACTED else []
    found = skills.match([*cand.skills, *from_cv], req.required_skills, req.skills)
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

    if cv is not None:
        reasons += cv_reasons(cv, from_cv, found.matched, cand.years_experience)

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
        skills_from_cv=from_cv,
    )


def apply_override(result: ScreeningResult, passed: bool, by: str, reason: str, at: str) -> ScreeningResult:
    """A person overrides the machine: the verdict changes, the evidence stays, and the why is kept."""
    verdict = "passed" if passed else "screened out"
    return result.model_copy(update={
        "passed": passed,
        "override": {"by": by, "reason": reason, "at": at, "original_passed": result.passed},
        "reasons": [*result.reasons, f"Manually {verdict} by {by}: {reason}"],
    })
