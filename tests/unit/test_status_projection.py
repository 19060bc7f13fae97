"""shared/status_projection.py, the command side: what a command answers from the service's status copy, and
when it waits for the copy to catch up. A dict stands for the copy; the clock and the sleep are injected (a
sleep advances the clock and may deliver the change the command waits for), so nothing really waits."""

from datetime import timedelta

import pytest

from shared import status_projection
from shared.contracts.caller import Caller
from shared.contracts.status import DECIDE, OVERRIDE_SCREENING, SCHEDULE_INTERVIEW
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.status_projection import POLL_SECONDS, WAIT_SECONDS, for_command, may_be_on_its_way
from shared.timeutil import utcnow

RETAIL = Caller(key_id="k", name="rita", role="recruiter", divisions=("retail",))
LOGISTICS = Caller(key_id="k", name="lou", role="hr", divisions=("logistics",))


class Copy:
    """The status copy, a clock, and changes that arrive after some seconds of waiting."""

    def __init__(self):
        self.docs: dict[str, dict] = {}
        self.now = 0.0
        self.arriving: list[tuple[float, str, dict]] = []
        self.reads = 0

    def put(self, app_id, status, division="retail"):
        self.docs[app_id] = {"_id": app_id, "division": division, "tier": "basic", "status": status}

    def later(self, seconds, app_id, status):
        self.arriving.append((seconds, app_id, status))

    def read(self, app_id):
        self.reads += 1
        return self.docs.get(app_id)

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        for due, app_id, status in [a for a in self.arriving if a[0] <= self.now]:
            self.arriving.remove((due, app_id, status))
            self.put(app_id, status)

    def command(self, app_id, pre, caller=RETAIL, **kw):
        return for_command(self.read, app_id, caller, pre, clock=self.clock, sleep=self.sleep, **kw)


@pytest.fixture
def copy():
    return Copy()


def test_an_allowed_status_answers_at_once(copy):
    app_id = new_id("app")
    copy.put(app_id, "shortlisted")
    assert copy.command(app_id, SCHEDULE_INTERVIEW)["status"] == "shortlisted"
    assert copy.now == 0 and copy.reads == 1


def test_a_status_that_cannot_become_allowed_is_refused_at_once(copy):
    app_id = new_id("app")
    copy.put(app_id, "interviewing")
    with pytest.raises(Conflict) as exc:
        copy.command(app_id, SCHEDULE_INTERVIEW)
    assert exc.value.code == "invalid_status"
    assert exc.value.message == "application is interviewing; only a shortlisted application can be scheduled " \
                                "for an interview"
    assert copy.now == 0
    copy.put(app_id, "offered")
    with pytest.raises(Conflict):
        copy.command(app_id, OVERRIDE_SCREENING)
    assert copy.now == 0


def test_a_copy_just_behind_is_waited_for(copy):
    """The client saw `shortlisted` through sourcing; the change reaches this copy a moment later."""
    app_id = new_id("app")
    copy.put(app_id, "received")
    copy.later(0.3, app_id, "shortlisted")
    assert copy.command(app_id, SCHEDULE_INTERVIEW)["status"] == "shortlisted"
    assert 0.3 <= copy.now < 0.3 + 2 * POLL_SECONDS


def test_a_copy_that_does_not_catch_up_is_refused_after_the_wait(copy):
    app_id = new_id("app")
    copy.put(app_id, "screened_out")  # an override could still shortlist it
    with pytest.raises(Conflict) as exc:
        copy.command(app_id, SCHEDULE_INTERVIEW)
    assert exc.value.code == "invalid_status" and "screened_out" in exc.value.message
    assert WAIT_SECONDS <= copy.now < WAIT_SECONDS + 2 * POLL_SECONDS


def test_what_the_callers_records_rule_out_is_not_waited_for(copy):
    app_id = new_id("app")
    copy.put(app_id, "interviewing")
    with pytest.raises(Conflict):
        copy.command(app_id, DECIDE, may_still_move=lambda doc: False)
    assert copy.now == 0
    copy.later(1.0, app_id, "interviewed")  # an interview completed here: its change is on its way
    assert copy.command(app_id, DECIDE, may_still_move=lambda doc: True)["status"] == "interviewed"
    assert copy.now >= 1.0


def test_another_divisions_application_is_not_found_at_once(copy):
    app_id = new_id("app")
    copy.put(app_id, "received")  # even one whose status could still move: its division never does
    with pytest.raises(NotFound):
        copy.command(app_id, SCHEDULE_INTERVIEW, caller=LOGISTICS)
    with pytest.raises(NotFound):
        copy.command(app_id, None, caller=LOGISTICS)
    assert copy.now == 0


def test_an_application_made_just_now_is_waited_for(copy):
    app_id = new_id("app")
    copy.later(0.5, app_id, "interviewed")  # a fast track: received and interviewed in one transaction
    assert copy.command(app_id, DECIDE)["status"] == "interviewed"
    assert copy.now >= 0.5
    other = new_id("app")
    with pytest.raises(NotFound):
        copy.command(other, None)
    assert copy.now >= 0.5 + WAIT_SECONDS


@pytest.mark.parametrize("app_id", ["app_nope", "req_01a2431335d734cb5c4cbeea", "app_01A2431335D734CB5C4CBEEA",
                                    "app_000000000001000000000001", "", "app_" + "f" * 24])
def test_an_id_sourcing_cannot_have_made_lately_is_not_found_at_once(copy, app_id):
    with pytest.raises(NotFound):
        copy.command(app_id, SCHEDULE_INTERVIEW)
    assert copy.now == 0 and copy.reads == 1


def test_the_horizon_of_new_applications():
    now = utcnow()
    assert may_be_on_its_way(new_id("app"), now)
    assert not may_be_on_its_way(new_id("int"), now)
    made = now - status_projection.UNKNOWN_HORIZON - timedelta(seconds=1)
    old = f"app_{int(made.timestamp() * 1000):012x}{0:012x}"
    assert not may_be_on_its_way(old, now)
    assert may_be_on_its_way(old, made + timedelta(seconds=1))


def test_any_status_when_no_precondition(copy):
    app_id = new_id("app")
    copy.put(app_id, "withdrawn")
    assert copy.command(app_id, None)["status"] == "withdrawn"


def test_only_a_few_commands_wait_at_once(copy, monkeypatch):
    """A waiting command holds a worker that also feeds the copy: past MAX_WAITING, commands answer from the
    copy as it stands instead of waiting, and a finished wait frees its place."""
    import threading

    monkeypatch.setattr(status_projection, "_waiting", threading.BoundedSemaphore(1))
    app_id = new_id("app")
    copy.put(app_id, "received")
    assert status_projection._waiting.acquire(blocking=False)  # another command is waiting
    with pytest.raises(Conflict):
        copy.command(app_id, SCHEDULE_INTERVIEW)
    assert copy.now == 0
    status_projection._waiting.release()
    copy.later(0.2, app_id, "shortlisted")
    assert copy.command(app_id, SCHEDULE_INTERVIEW)["status"] == "shortlisted"
    assert status_projection._waiting.acquire(blocking=False)  # released again after the wait
