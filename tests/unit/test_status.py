"""shared/contracts/status.py: the machine's reachability, the command preconditions checked against a
projection, and the order of status changes. Pure: no infrastructure."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts import status
from shared.contracts.common import AppStatus
from shared.contracts.status import (
    DECIDE,
    OVERRIDE_SCREENING,
    SCHEDULE_INTERVIEW,
    Verdict,
    check,
    reachable,
    supersedes,
)

ALL = [s.value for s in AppStatus]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# -- the machine -----------------------------------------------------------------------------------------

def test_successors_are_the_forward_moves_the_machine_allows():
    for current in ALL:
        assert status.successors(current) == {new for new in ALL if status.can_move(current, new, override=True)
                                              and (current, new) not in status.BACKWARD}


def test_a_move_back_is_waited_for_only_by_a_command_that_expects_one():
    # A copy at interviewing: a screening override or a schedule is refused at once, as before cancellations
    # existed; a schedule right after this service cancelled the interview waits for the move back.
    assert status.check(status.SCHEDULE_INTERVIEW, "interviewing") == status.Verdict.refused
    assert status.check(status.OVERRIDE_SCREENING, "interviewing") == status.Verdict.refused
    assert status.check(status.SCHEDULE_AFTER_CANCEL, "interviewing") == status.Verdict.wait
    assert status.check(status.SCHEDULE_AFTER_CANCEL, "shortlisted") == status.Verdict.allowed
    assert status.check(status.SCHEDULE_AFTER_CANCEL, "interviewed") == status.Verdict.refused


def test_a_fail_is_allowed_from_shortlisted_on_and_a_pass_only_after_the_interview():
    for current in ("shortlisted", "interviewing", "interviewed"):
        assert status.check(status.DECIDE_FAIL, current) == status.Verdict.allowed
    assert status.check(status.DECIDE_FAIL, "received") == status.Verdict.wait
    assert status.check(status.DECIDE_FAIL, "offered") == status.Verdict.refused
    assert status.check(status.DECIDE, "shortlisted", may_still_move=False) == status.Verdict.refused


def test_reachable_follows_the_machine_and_overrides():
    assert reachable("received", "hired")
    assert reachable("received", "interviewed")
    assert reachable("screened_out", "shortlisted")  # a person's override
    assert reachable("screened_out", "interviewed")  # through the override
    assert reachable("shortlisted", "shortlisted")  # out to screened_out and back, by overrides
    assert not reachable("interviewing", "shortlisted")
    assert not reachable("interviewed", "interviewing")
    assert not reachable("offered", "interviewed")
    assert not reachable("received", "received")
    for terminal in status.TERMINAL:
        assert not any(reachable(terminal, s) for s in ALL)
    for current in ALL:
        if current not in status.TERMINAL:
            assert reachable(current, "withdrawn")


# -- preconditions ---------------------------------------------------------------------------------------

EXPECTED = {
    SCHEDULE_INTERVIEW: {"allowed": {"shortlisted"}, "wait": {"received", "screened_out"}},
    DECIDE: {"allowed": {"interviewed"}, "wait": {"received", "shortlisted", "screened_out", "interviewing"}},
    OVERRIDE_SCREENING: {"allowed": {"received", "shortlisted", "screened_out"}, "wait": set()},
}


@pytest.mark.parametrize("pre", list(EXPECTED), ids=["schedule", "decide", "override"])
@pytest.mark.parametrize("projected", ALL)
def test_each_status_is_allowed_waited_for_or_refused(pre, projected):
    expected = EXPECTED[pre]
    verdict = check(pre, projected)
    if projected in expected["allowed"]:
        assert verdict == Verdict.allowed
    elif projected in expected["wait"]:
        assert verdict == Verdict.wait
    else:
        assert verdict == Verdict.refused
    # what the caller's own records rule out is refused at once, never waited for
    assert check(pre, projected, may_still_move=False) == (
        Verdict.allowed if projected in expected["allowed"] else Verdict.refused)


def test_an_application_not_known_yet_is_waited_for():
    for pre in EXPECTED:
        assert check(pre, None) == Verdict.wait
        assert check(pre, None, may_still_move=False) == Verdict.wait


def test_refusals_name_the_status_and_the_rule():
    assert SCHEDULE_INTERVIEW.refusal("received") == (
        "application is received; only a shortlisted application can be scheduled for an interview")
    assert DECIDE.refusal("interviewing") == "application is interviewing; a decision needs an interviewed application"
    assert OVERRIDE_SCREENING.refusal("offered") == (
        "application is offered; screening can only be overridden before interviews start")


def test_sourcing_follows_the_same_preconditions():
    """The moves sourcing makes on the commands' events are the ones the preconditions let through."""
    from services.sourcing import domain

    assert domain.can_move is status.can_move and domain.TRANSITIONS is status.TRANSITIONS
    for current in ALL:
        assert (domain.after_interview_scheduled(current).status is not None) == SCHEDULE_INTERVIEW.allows(current)
        assert (domain.after_decision(current, "offered").status is not None) == DECIDE.allows(current)


# -- order of changes ------------------------------------------------------------------------------------

def test_a_projection_that_holds_nothing_takes_any_change():
    assert supersedes(None, None, 1, T0)
    assert supersedes(0, None, 0, T0)


def test_by_sequence_when_both_carry_one_even_at_the_same_time():
    assert supersedes(1, T0, 2, T0)  # received then interviewed in one transaction: the same `at`
    assert not supersedes(2, T0, 1, T0)  # the received arriving late does not undo it
    assert not supersedes(2, T0, 2, T0)  # the same change again
    assert not supersedes(3, T0, 2, T0 + timedelta(hours=1))  # the sequence wins over a clock that drifted
    assert supersedes(2, T0 + timedelta(hours=1), 3, T0)


def test_by_time_when_either_predates_the_sequence():
    assert supersedes(0, T0, 0, T0 + timedelta(seconds=1))
    assert supersedes(0, T0, 0, T0)  # the newer or equal one wins
    assert not supersedes(0, T0, 0, T0 - timedelta(seconds=1))
    assert not supersedes(4, T0, 0, T0 - timedelta(seconds=1))
    assert supersedes(0, T0, 5, T0 + timedelta(seconds=1))
    assert not supersedes(None, T0, 5, T0 - timedelta(seconds=1))


def test_times_stored_without_a_zone_are_utc():
    assert not supersedes(0, T0.replace(tzinfo=None), 0, T0 - timedelta(seconds=1))
    assert supersedes(0, T0.replace(tzinfo=None), 0, T0 + timedelta(seconds=1))
