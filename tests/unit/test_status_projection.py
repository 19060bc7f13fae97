"""shared/status_projection.py. The command side: what a command answers from the service's status copy, and
when it waits for the copy to catch up. A dict stands for the copy; the clock and the sleep are injected (a
sleep advances the clock and may deliver the change the command waits for), so nothing really waits. The store
side (bottom): the copy's one conditional upsert per change against a real MongoDB, checked against
`supersedes` case by case, with the commands it costs."""

from datetime import timedelta

import pytest

from shared import status_projection
from shared.contracts.caller import Caller
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationStatusChanged,
    CandidateSnapshot,
    RequisitionSnapshot,
)
from shared.contracts.status import DECIDE, OVERRIDE_SCREENING, SCHEDULE_INTERVIEW, supersedes
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.status_projection import POLL_SECONDS, WAIT_SECONDS, StatusProjection, for_command, may_be_on_its_way
from shared.storage import ServiceStore, mongo_client
from shared.timeutil import utcnow
from tests.support.hot_path import CommandLog

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


# ----------------------------------------------------------------------------------------------------
# The store side: one conditional upsert per change (StatusProjection.project_status), against a real MongoDB

T0 = utcnow().replace(microsecond=0)


class CopyStore(StatusProjection, ServiceStore):
    owner = "status_copy_test"


@pytest.fixture
def counted(data_infra):
    """A status copy on a fresh database, with every command it sends counted."""
    counter = CommandLog()
    client = mongo_client(data_infra.mongo_url, event_listeners=[counter])
    name = f"{data_infra.namespace}_copy_{new_id('t')}"
    store = CopyStore(client, name)
    counter.clear()
    try:
        yield store, counter
    finally:
        client.drop_database(name)
        client.close()


def change(app_id, status, sequence, at, **fields):
    return ApplicationStatusChanged(
        sequence=sequence, application_id=app_id, candidate_id="cand_1", requisition_id="req_1",
        requisition_title="Barista", division="retail", tier="basic", source="referral", previous_status=None,
        status=status, at=at, **fields)


def test_a_newer_change_applies_an_equal_or_older_one_does_not(counted):
    store, counter = counted
    app_id = new_id("app")
    assert store.project_status(change(app_id, "shortlisted", 2, T0 + timedelta(seconds=1))) is True
    assert store.project_status(change(app_id, "received", 1, T0)) is False  # older
    assert store.project_status(change(app_id, "screened_out", 2, T0 + timedelta(seconds=9))) is False  # equal
    held = store.projected_application(app_id)
    assert (held["status"], held["sequence"], held["at"]) == ("shortlisted", 2, T0 + timedelta(seconds=1))
    assert store.project_status(change(app_id, "interviewing", 3, T0)) is True  # by sequence, not time
    assert store.projected_application(app_id)["status"] == "interviewing"


def test_a_change_is_one_command_and_a_refused_one_two(counted):
    store, counter = counted
    app_id = new_id("app")
    store.project_status(change(app_id, "received", 1, T0))
    assert counter.names == ["update"]
    counter.clear()
    store.project_status(change(app_id, "shortlisted", 2, T0))
    assert counter.names == ["update"]
    counter.clear()
    store.project_status(change(app_id, "received", 1, T0))  # the insert it falls to is refused, then checked
    assert counter.names == ["update", "update"]


# (held sequence, held at offset) x (incoming sequence, incoming at offset): sequenced and legacy (0) changes
CASES = [(held, new) for held in [(0, 0), (0, 5), (2, 0), (2, 5)]
         for new in [(0, 0), (0, 4), (0, 5), (0, 6), (1, 9), (2, 9), (3, 0), (3, 6)]]


@pytest.mark.parametrize(("held", "new"), CASES)
def test_the_upsert_applies_exactly_what_supersedes_says(counted, held, new):
    store, _ = counted
    app_id = new_id("app")
    (held_seq, held_s), (new_seq, new_s) = held, new
    store.project_status(change(app_id, "shortlisted", held_seq, T0 + timedelta(seconds=held_s)))
    expected = supersedes(held_seq, T0 + timedelta(seconds=held_s), new_seq, T0 + timedelta(seconds=new_s))
    applied = store.project_status(change(app_id, "interviewing", new_seq, T0 + timedelta(seconds=new_s)))
    assert applied is expected
    assert store.projected_application(app_id)["status"] == ("interviewing" if expected else "shortlisted")


def test_a_legacy_change_then_sequenced_ones_keep_their_order(counted):
    store, _ = counted
    app_id = new_id("app")
    store.project_status(change(app_id, "shortlisted", 0, T0 + timedelta(seconds=5)))
    assert store.project_status(change(app_id, "received", 1, T0)) is False  # older by time
    assert store.project_status(change(app_id, "interviewing", 3, T0 + timedelta(seconds=6))) is True
    assert store.project_status(change(app_id, "shortlisted", 2, T0 + timedelta(seconds=9))) is False  # by sequence now
    assert store.projected_application(app_id)["status"] == "interviewing"


def test_an_erased_copy_keeps_its_mark_and_its_status(counted):
    store, _ = counted
    app_id = new_id("app")
    store.project_status(change(app_id, "shortlisted", 2, T0))
    assert store.mark_statuses_erased([app_id], None) == 1
    assert store.project_status(change(app_id, "withdrawn", 3, T0 + timedelta(seconds=1))) is False
    assert store.project_status(change(app_id, "withdrawn", 0, T0 + timedelta(seconds=1))) is False
    held = store.projected_application(app_id)
    assert (held["erased"], held["status"], held["sequence"]) == (True, "shortlisted", 2)


def test_a_change_whose_insert_loses_a_race_is_applied_by_the_update_that_follows(counted, monkeypatch):
    """Two first changes of an application at once: both find no document, the older one inserts, the newer
    one's insert fails (a server retries an upsert only when its filter is equalities alone). The newer one
    must still be applied: the DuplicateKeyError is checked once more as a plain update."""
    from pymongo.collection import Collection
    from pymongo.errors import DuplicateKeyError

    store, _ = counted
    app_id = new_id("app")
    real_update = Collection.update_one
    raced = []

    def racing_update(coll, query, update, upsert=False, **kw):
        if upsert and not raced:  # the other change's insert lands between this one's look-up and insert
            raced.append(True)
            real_update(coll, {"_id": app_id}, {"$set": {"status": "received", "sequence": 1, "at": T0,
                                                         "division": "retail"}}, upsert=True)
            raise DuplicateKeyError("E11000 duplicate key error", 11000)
        return real_update(coll, query, update, upsert=upsert, **kw)

    monkeypatch.setattr(Collection, "update_one", racing_update)
    assert store.project_status(change(app_id, "shortlisted", 2, T0)) is True
    assert raced and store.projected_application(app_id)["status"] == "shortlisted"


def test_the_first_change_from_application_received_is_sourcings_own():
    """received_change must be what sourcing publishes for a new application (same sequence, status and time),
    so the copy keeps one of the two and the other changes nothing."""
    from services.sourcing import domain as sourcing

    req = RequisitionSnapshot(id="req_1", title="Barista", division="retail", department="stores", tier="core",
                              urgent=True, required_skills=[])
    received = ApplicationReceived(application_id="app_1", candidate_id="cand_1", requisition=req, source="referral",
                                   candidate=CandidateSnapshot(name="Ann", email="sealed"), received_at=T0)
    app = {"_id": "app_1", "candidate_id": "cand_1", "requisition_id": "req_1", "requisition_title": "Barista",
           "division": "retail", "department": "stores", "tier": "core", "urgent": True, "source": "referral",
           "status": "received", "timeline": [sourcing.timeline_entry(T0, "received", "Applied via referral")]}
    theirs, ours = sourcing.status_changed(app, None), status_projection.received_change(received)
    assert ours.model_dump(exclude={"detail"}) == theirs.model_dump(exclude={"detail"})
