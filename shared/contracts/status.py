"""The application status machine, the status preconditions of commands, and the order of status changes.

Written once, used by sourcing (which owns every application's status and makes every move, `domain.move`) and
by the services that keep their own copy of the status (a projection fed by `application_status_changed`:
screening, interview_feedback; talent_pool and notification order their copies with `supersedes`). Pure, no I/O.

Status machine (api-v1):
    received -> shortlisted | screened_out
    shortlisted <-> screened_out            (only by a screening override)
    shortlisted -> interviewing -> interviewed -> awaiting_approval | offered | rejected
    interviewing -> shortlisted             (only when its interview is cancelled)
    shortlisted | interviewing -> rejected  (a fail decision at any stage, the interviews issue)
    awaiting_approval -> offered | rejected
    offered -> accepted | declined
    accepted -> hired | no_show
    any non-terminal status -> withdrawn
`screened_out` is not terminal: a person may override the screening verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from shared.contracts.common import AppStatus

S = AppStatus

TERMINAL: frozenset[str] = frozenset({S.rejected, S.declined, S.hired, S.no_show, S.withdrawn})

# Ordinary moves (withdrawn is added for every non-terminal status below).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.received: frozenset({S.shortlisted, S.screened_out}),
    S.shortlisted: frozenset({S.interviewing, S.screened_out, S.rejected}),
    S.screened_out: frozenset({S.shortlisted}),
    S.interviewing: frozenset({S.interviewed, S.shortlisted, S.rejected}),
    S.interviewed: frozenset({S.awaiting_approval, S.offered, S.rejected}),
    S.awaiting_approval: frozenset({S.offered, S.rejected}),
    S.offered: frozenset({S.accepted, S.declined}),
    S.accepted: frozenset({S.hired, S.no_show}),
}
# These two moves happen only when a person overrides the screening verdict.
OVERRIDE_ONLY: frozenset[tuple[str, str]] = frozenset({
    (S.shortlisted, S.screened_out),
    (S.screened_out, S.shortlisted),
})


# Moves back, made only when an interview is cancelled: a projection is never waited on for them (a copy at
# `interviewing` is refused at once, as before), unless a command says it waits for one (`waits_from`).
BACKWARD: frozenset[tuple[str, str]] = frozenset({(S.interviewing, S.shortlisted)})


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def can_move(current: str, new: str, *, override: bool = False) -> bool:
    if current in TERMINAL or current == new:
        return False
    if new == S.withdrawn:
        return True
    if new not in TRANSITIONS.get(current, frozenset()):
        return False
    return override or (current, new) not in OVERRIDE_ONLY


def successors(status: str) -> frozenset[str]:
    """Every status one forward move (overrides included, BACKWARD moves not) can lead to from `status`."""
    if status in TERMINAL:
        return frozenset()
    return frozenset(s for s in TRANSITIONS.get(status, frozenset()) if (status, s) not in BACKWARD) | {S.withdrawn}


def reachable(current: str, target: str) -> bool:
    """Whether `target` can still come after `current`, by one or more moves of the machine."""
    seen: set[str] = set()
    todo = list(successors(current))
    while todo:
        status = todo.pop()
        if status == target:
            return True
        if status not in seen:
            seen.add(status)
            todo.extend(successors(status))
    return False


# ----------------------------------------------------------------------------------------------------
# Preconditions of the commands that other services accept on an application, by its status


@dataclass(frozen=True)
class Precondition:
    """A command that needs the application in one of `allowed`; otherwise refused (api-v1: 409
    `invalid_status`) with `refusal(status)`."""

    allowed: frozenset[str]
    rule: str
    # Statuses from which a BACKWARD move is worth waiting for (the caller knows one is on its way).
    waits_from: frozenset[str] = frozenset()

    def allows(self, status: str) -> bool:
        return status in self.allowed

    def may_allow_later(self, status: str) -> bool:
        return status in self.waits_from or any(reachable(status, target) for target in self.allowed)

    def refusal(self, status: str) -> str:
        return f"application is {status}; {self.rule}"


SCHEDULE_INTERVIEW = Precondition(frozenset({S.shortlisted}),
                                  "only a shortlisted application can be scheduled for an interview")
# After this service cancelled the application's interview, sourcing moves it back to shortlisted: wait for that.
SCHEDULE_AFTER_CANCEL = Precondition(SCHEDULE_INTERVIEW.allowed, SCHEDULE_INTERVIEW.rule,
                                     waits_from=frozenset({S.interviewing}))
DECIDE = Precondition(frozenset({S.interviewed}), "a decision needs an interviewed application")
# A fail may come at any stage once screened in (the interviews issue); a pass only after the interview.
DECIDE_FAIL = Precondition(frozenset({S.shortlisted, S.interviewing, S.interviewed}),
                           "a rejection needs a shortlisted, interviewing or interviewed application")
OVERRIDE_SCREENING = Precondition(frozenset({S.received, S.shortlisted, S.screened_out}),
                                  "screening can only be overridden before interviews start")


class Verdict(StrEnum):
    allowed = "allowed"
    wait = "wait"  # the projection may be behind: read it again shortly
    refused = "refused"


def check(pre: Precondition, projected: str | None, *, may_still_move: bool = True) -> Verdict:
    """What a command does with the status a projection holds (None: the application is not known there yet).

    A projection can be behind sourcing, never ahead of it. So: a status that meets the precondition is
    `allowed` (sourcing checks the move again when the command's event reaches it); an unknown application, or
    a status from which an allowed one can still be reached, is worth a short `wait` for the projection to
    catch up, unless the caller knows from its own records that the move it would wait for has not happened
    (`may_still_move=False`); anything else is `refused`."""
    if projected is None:
        return Verdict.wait
    if pre.allows(projected):
        return Verdict.allowed
    if may_still_move and pre.may_allow_later(projected):
        return Verdict.wait
    return Verdict.refused


# ----------------------------------------------------------------------------------------------------
# The order of status changes


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def supersedes(held_sequence: int | None, held_at: datetime | None, sequence: int, at: datetime) -> bool:
    """Whether an incoming status change (`sequence`, `at`) replaces the one a projection holds.

    Changes arrive in any order (parallel consumers, parked and replayed events), and a late older one must
    not undo a newer one. Compared by `sequence`, the change's position in the application's timeline, when
    both carry one (two changes made in one transaction share `at`: a fast-tracked application is received
    and interviewed at once); otherwise by sourcing's time `at`, the newer or equal one winning (changes
    published before `sequence` existed carry 0)."""
    if held_at is None and not held_sequence:
        return True
    if sequence and held_sequence:
        return sequence > held_sequence
    return held_at is None or _utc(at) >= _utc(held_at)
