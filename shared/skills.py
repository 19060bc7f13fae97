"""Skill matching, one way for everyone: screening measures an application against its requisition, the
talent pool a pooled candidate against a new requisition. Pure functions, no I/O.

- Skills compare after `normalize_skill` (case-insensitive, trimmed, inner spaces collapsed; api-v1).
- A requisition's skills split into required and nice-to-have: each listed once (its first spelling kept),
  and a skill listed in both counts as required.
- A match names skills as the requisition spells them, in its order: required first, then nice-to-have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.contracts.common import normalize_skill


def normalized(skills: Iterable[str]) -> set[str]:
    return {normalize_skill(s) for s in skills}


def unique(skills: Iterable[str]) -> list[str]:
    """Each skill once, by its normalised form; the first spelling wins."""
    seen: dict[str, str] = {}
    for s in skills:
        seen.setdefault(normalize_skill(s), s)
    return list(seen.values())


def split(required_skills: Iterable[str], nice_skills: Iterable[str]) -> tuple[list[str], list[str]]:
    """(required, nice-to-have), each without duplicates; a skill in both lists is required only."""
    required = unique(required_skills)
    required_norm = normalized(required)
    return required, [s for s in unique(nice_skills) if normalize_skill(s) not in required_norm]


def covers(have: Iterable[str], required_skills: Iterable[str]) -> bool:
    """Whether the skills `have` include every one of `required_skills`."""
    held = normalized(have)
    return all(normalize_skill(s) in held for s in required_skills)


@dataclass(frozen=True)
class SkillMatch:
    required: list[str]
    nice: list[str]
    matched_required: list[str]
    missing_required: list[str]
    matched_nice: list[str]
    missing_nice: list[str]

    @property
    def matched(self) -> list[str]:
        return self.matched_required + self.matched_nice

    @property
    def missing(self) -> list[str]:
        return self.missing_required + self.missing_nice

    @property
    def has_all_required(self) -> bool:
        return not self.missing_required


def match(have: Iterable[str], required_skills: Iterable[str], nice_skills: Iterable[str]) -> SkillMatch:
    """Which of a requisition's skills a person has and lacks."""
    required, nice = split(required_skills, nice_skills)
    held = normalized(have)
    return SkillMatch(
        required=required,
        nice=nice,
        matched_required=[s for s in required if normalize_skill(s) in held],
        missing_required=[s for s in required if normalize_skill(s) not in held],
        matched_nice=[s for s in nice if normalize_skill(s) in held],
        missing_nice=[s for s in nice if normalize_skill(s) not in held],
    )
