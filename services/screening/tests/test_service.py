"""The screening service shell against a real MongoDB (nameko's worker_factory, an in-process bus with the
real document write and unit of work): screening an application, its copy of application statuses, and the
override that checks it (shared/status_projection.py, shared/contracts/status.py)."""

import time

import pytest
from nameko.testing.services import worker_factory

from services.screening.service import ScreeningService
from services.screening.store import ScreeningStore
from shared.contracts import screening as contract
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.errors import Conflict, Forbidden, NotFound
from shared.ids import new_id
from shared.storage import AlreadyHandled, state_of
from shared.timeutil import iso, utcnow
from tests.support.shell import InProcessBus, status_changed
from tests.support.shell import deliver as shell_deliver

REC = Caller(key_id="k1", name="rita", role="recruiter", divisions=("retail",))
OTHER = Caller(key_id="k2", name="lou", role="recruiter", divisions=("logistics",))
INTERVIEWER = Caller(key_id="k3", name="ivan", role="interviewer", divisions=("retail",))
OVERRIDE = {"passed": True, "reason": "strong referral"}


@pytest.fixture
def store(make_store):
    return make_store(ScreeningStore)


def service(store, caller=REC, wait=0.4):
    svc = worker_factory(ScreeningService, store=store, bus=InProcessBus(store, caller))
    svc.status_wait_seconds = wait
    return svc


def received(svc, app_id, skills=("coffee",), candidate_id="cand_1", event_id=None):
    return shell_deliver(svc.on_application_received, "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": candidate_id, "source": "referral", "received_at": iso(utcnow()),
        "requisition": {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores",
                        "tier": "basic", "required_skills": ["Coffee"]},
        "candidate": {"name": "Ann", "email": "sealed", "skills": list(skills)}}, event_id)


def changed(svc, app_id, status, sequence, division="retail"):
    status_changed(svc, app_id, status, sequence, division=division)


def test_an_application_is_screened_once(store):
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id)
    received(svc, app_id)  # announced again
    [screened] = svc.bus.payloads("application_screened")
    assert screened["application_id"] == app_id and screened["result"]["passed"] is True
    assert svc.get_screening(application_id=app_id)["passed"] is True
    with pytest.raises(NotFound):
        service(store, OTHER).get_screening(application_id=app_id)


def test_the_result_and_its_event_are_one_document_and_a_redelivery_changes_nothing(store):
    svc = service(store)
    app_id = new_id("app")
    env = received(svc, app_id)
    with pytest.raises(AlreadyHandled):  # the inbox consumer acks it
        received(svc, app_id, event_id=env.event_id)
    assert len(svc.bus.payloads("application_screened")) == 1
    doc = store.get(app_id)
    assert doc["inbox"] == [env.event_id] and doc["outbox"] == []  # relayed, pulled off
    assert set(state_of(doc)) == {"_id", "requisition_id", "division", "result", "screened_by", "screened_at"}
    assert store.db.inbox.count_documents({}) == 0 and store.db.outbox.count_documents({}) == 0
    assert set(svc.get_screening(application_id=app_id)) == set(contract.ScreeningResult.model_fields)


def test_the_status_copy_starts_at_received_from_the_application(store):
    """The override needs no status change to have arrived; sourcing's own first change (sequence 1) is then
    the same one and changes nothing, and a later one moves the copy on whatever the order."""
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id, skills=())
    held = store.projected_application(app_id)
    assert (held["status"], held["sequence"], held["division"], held["tier"]) == ("received", 1, "retail", "basic")
    assert svc.override(application_id=app_id, **OVERRIDE)["passed"] is True
    changed(svc, app_id, "screened_out", 2)
    changed(svc, app_id, "received", 1)  # sourcing's first change, late
    assert store.projected_application(app_id)["status"] == "screened_out"


def test_a_status_change_before_the_application_is_not_undone_by_it(store):
    """A fast-tracked application: received and interviewed at once; `interviewed` (sequence 2) may come first."""
    svc = service(store, wait=30)
    app_id = new_id("app")
    changed(svc, app_id, "interviewed", 2)
    received(svc, app_id)
    assert store.projected_application(app_id)["status"] == "interviewed"
    with pytest.raises(Conflict) as exc:
        svc.override(application_id=app_id, **OVERRIDE)
    assert exc.value.code == "invalid_status"


def test_an_application_of_an_erased_candidate_is_not_screened(store):
    svc = service(store)
    app_id = new_id("app")
    store.mark_erased("cand_gone", "era_1", [app_id])
    received(svc, app_id, candidate_id="cand_gone")
    assert store.get(app_id) is None and store.projected_application(app_id) is None
    assert svc.bus.emitted == []


def test_the_override_checks_the_status_copy(store):
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id, skills=())  # screened out: the required skill is missing
    changed(svc, app_id, "received", 1)
    changed(svc, app_id, "screened_out", 2)
    view = svc.override(application_id=app_id, **OVERRIDE)
    assert view["passed"] is True and view["override"]["by"] == "rita"
    [_, overridden] = svc.bus.payloads("application_screened")
    assert overridden["result"]["override"]["reason"] == "strong referral"


def test_once_interviews_start_the_override_is_refused_at_once(store):
    svc = service(store, wait=30)
    app_id = new_id("app")
    received(svc, app_id)
    changed(svc, app_id, "interviewing", 3)
    changed(svc, app_id, "shortlisted", 2)  # late: the copy stays at interviewing
    started = time.monotonic()
    with pytest.raises(Conflict) as exc:
        svc.override(application_id=app_id, **OVERRIDE)
    assert exc.value.code == "invalid_status"
    assert exc.value.message == "application is interviewing; screening can only be overridden before interviews start"
    assert time.monotonic() - started < 5
    assert len(svc.bus.payloads("application_screened")) == 1  # only the machine's verdict


def test_scope_and_unknown_applications(store):
    app_id = new_id("app")
    svc = service(store)
    received(svc, app_id)
    changed(svc, app_id, "shortlisted", 2)
    with pytest.raises(NotFound):
        service(store, OTHER).override(application_id=app_id, **OVERRIDE)
    with pytest.raises(Forbidden):
        service(store, INTERVIEWER).override(application_id=app_id, **OVERRIDE)
    with pytest.raises(NotFound):
        svc.override(application_id="app_nope", **OVERRIDE)
    started = time.monotonic()
    with pytest.raises(NotFound):  # an id sourcing may have made a moment ago: waited for, then not found
        svc.override(application_id=new_id("app"), **OVERRIDE)
    assert time.monotonic() - started >= 0.4


def test_a_status_known_before_the_screening_is_not_screened_yet(store):
    svc = service(store)
    app_id = new_id("app")
    changed(svc, app_id, "received", 1)
    with pytest.raises(Conflict) as exc:
        svc.override(application_id=app_id, **OVERRIDE)
    assert exc.value.code == "not_screened"


def test_erasure_marks_the_status_copy_and_counts_it(store, test_infra):
    """The erasure handler (with its dead letters purged on the session's real broker): the result loses what
    describes the person, the status copy (ids and a status) is marked and counted, and a later change about
    the candidate changes nothing."""
    from nameko import config

    from shared.bus import topology

    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id)
    changed(svc, app_id, "shortlisted", 2)
    topology.declare(test_infra.rabbit_url)
    payload = {"erasure_id": "era_1", "candidate_id": "cand_1", "application_ids": [app_id, "app_other"],
               "reason": "request", "requested_at": iso(utcnow())}
    env = EventEnvelope(type="candidate_erasure_requested", producer="sourcing", payload=payload)
    with config.patch({"AMQP_URI": test_infra.rabbit_url}):
        svc.on_candidate_erasure_requested(
            EVENT_MODELS[("sourcing", env.type)].model_validate(env.payload), env)
    [erased] = svc.bus.payloads("candidate_erased")
    assert erased["service"] == "screening" and erased["counts"]["statuses"] == 1
    assert erased["counts"]["results"] == 1
    assert store.projected_application(app_id)["erased"] is True
    assert store.get(app_id)["result"]["reasons"] == []
    assert store.get(app_id)["erased"] is True  # so a later write of the result leaves it alone
    changed(svc, app_id, "withdrawn", 3)  # about an erased candidate: acknowledged, nothing changes
    held = store.projected_application(app_id)
    assert (held["status"], held["erased"]) == ("shortlisted", True)
    with pytest.raises(Conflict) as exc:  # an override's reason would describe the person
        svc.override(application_id=app_id, **OVERRIDE)
    assert exc.value.code == "application_erased"
    assert store.get(app_id)["result"]["override"] is None


def test_an_erasure_between_an_overrides_read_and_write_makes_it_read_again(store):
    """The erasure anonymises in its own transaction; an override that read the result just before must not
    write the old reasons back (its write is conditional on `_rev`, which the erasure moves on)."""
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id)
    seen = []

    def decide(state, change):
        seen.append(state.get("erased", False))
        if len(seen) == 1:
            store.anonymise([app_id], None)  # lands between this write's read and its write
        return None if state.get("erased") else {**state, "result": {**state["result"], "reasons": ["kept?"]}}

    store.write_document("results", app_id, decide)
    assert seen == [False, True]
    assert store.get(app_id)["result"]["reasons"] == []
