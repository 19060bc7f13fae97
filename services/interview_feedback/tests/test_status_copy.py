"""interview_feedback's copy of application statuses, through the service shell against a real MongoDB: the
`application_status_changed` handler (nameko's worker_factory, an in-process bus; one conditional upsert per
change) and the commands that check it (shared/status_projection.py, shared/contracts/status.py).
"""

import threading
import time
from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory

from services.interview_feedback.service import InterviewFeedbackService
from services.interview_feedback.store import InterviewFeedbackStore
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.timeutil import iso, utcnow
from tests.support.shell import InProcessBus, status_changed

REC = Caller(key_id="k1", name="rita", role="recruiter", divisions=("retail",))
HR = Caller(key_id="k2", name="hana", role="hr", divisions=("retail",))
OTHER_HR = Caller(key_id="k3", name="lou", role="hr", divisions=("logistics",))
BODY = {"interviewers": ["ann"], "scheduled_at": "2026-12-01T10:00:00Z", "competencies": ["craft"]}


@pytest.fixture
def store(make_store):
    return make_store(InterviewFeedbackStore)


def service(store, caller=HR, wait=0.4):
    svc = worker_factory(InterviewFeedbackService, store=store, bus=InProcessBus(store, caller))
    svc.status_wait_seconds = wait
    return svc


def changed(svc, app_id, status, sequence, **options):
    return status_changed(svc, app_id, status, sequence, **options)


def copied(store, app_id):
    return store.projected_application(app_id)


def test_the_copy_keeps_the_latest_change_whatever_the_order(store):
    svc = service(store)
    app_id = new_id("app")
    t0 = utcnow()
    changed(svc, app_id, "interviewing", 3, at=t0 + timedelta(seconds=2))
    changed(svc, app_id, "shortlisted", 2, at=t0 + timedelta(seconds=1))  # late
    changed(svc, app_id, "received", 1, at=t0)  # later still
    doc = copied(store, app_id)
    assert (doc["status"], doc["sequence"], doc["division"], doc["tier"]) == ("interviewing", 3, "retail", "basic")
    assert (doc["candidate_id"], doc["requisition_id"]) == ("cand_1", "req_1")
    assert set(doc) == {"_id", "candidate_id", "requisition_id", "division", "tier", "status", "sequence", "at"}
    changed(svc, app_id, "interviewed", 4, at=t0 + timedelta(seconds=3))
    assert copied(store, app_id)["status"] == "interviewed"


def test_a_fast_track_received_and_interviewed_at_the_same_time_ends_interviewed(store):
    svc = service(store)
    app_id, at = new_id("app"), utcnow()
    changed(svc, app_id, "interviewed", 2, at=at)
    changed(svc, app_id, "received", 1, at=at)
    assert copied(store, app_id)["status"] == "interviewed"


def test_a_redelivered_change_changes_nothing_and_needs_no_inbox(store):
    """The copy's write is idempotent and ordered by sequence: a redelivery (even after a newer change) is an
    equal or older change, not applied again, so no handled-event record is kept for it."""
    svc = service(store)
    app_id = new_id("app")
    env = changed(svc, app_id, "received", 1)
    changed(svc, app_id, "received", 1, event_id=env.event_id)
    changed(svc, app_id, "shortlisted", 2)
    changed(svc, app_id, "received", 1, event_id=env.event_id)
    assert copied(store, app_id)["status"] == "shortlisted"
    assert store.db.inbox.count_documents({}) == 0


def test_scheduling_checks_the_copy(store):
    svc = service(store, REC)
    app_id = new_id("app")
    changed(svc, app_id, "shortlisted", 2, tier="core")
    interview = svc.schedule_interview(application_id=app_id, **BODY)
    assert interview["division"] == "retail"
    stored = store.get_interview(interview["id"])
    assert (stored["requisition_id"], stored["candidate_id"], stored["tier"]) == ("req_1", "cand_1", "core")
    assert svc.bus.payloads("interview_scheduled")[0]["application_id"] == app_id


def test_a_status_that_can_no_longer_be_scheduled_is_refused_at_once(store):
    svc = service(store, REC, wait=30)
    app_id = new_id("app")
    changed(svc, app_id, "interviewed", 4)
    started = time.monotonic()
    with pytest.raises(Conflict) as exc:
        svc.schedule_interview(application_id=app_id, **BODY)
    assert exc.value.code == "invalid_status" and "interviewed" in exc.value.message
    assert time.monotonic() - started < 5
    assert svc.bus.emitted == []


def test_a_received_application_is_refused_after_a_short_wait(store):
    svc = service(store, REC, wait=0.4)
    app_id = new_id("app")
    changed(svc, app_id, "received", 1)
    started = time.monotonic()
    with pytest.raises(Conflict) as exc:
        svc.schedule_interview(application_id=app_id, **BODY)
    assert exc.value.code == "invalid_status" and "received" in exc.value.message
    assert time.monotonic() - started >= 0.4


def test_a_command_right_after_the_change_waits_for_it(store):
    """The client saw `shortlisted` through sourcing; the change reaches this service's copy a moment later."""
    svc = service(store, REC, wait=10)
    app_id = new_id("app")
    changed(svc, app_id, "received", 1)
    late = threading.Timer(0.3, lambda: changed(service(store), app_id, "shortlisted", 2))
    late.start()
    try:
        interview = svc.schedule_interview(application_id=app_id, **BODY)
    finally:
        late.join()
    assert interview["status"] == "scheduled"
    assert copied(store, app_id)["status"] == "shortlisted"


def test_unknown_and_other_divisions_applications_are_not_found(store):
    svc = service(store, OTHER_HR, wait=0.3)
    app_id = new_id("app")
    changed(svc, app_id, "interviewed", 4)
    started = time.monotonic()
    with pytest.raises(NotFound):
        svc.decide(application_id=app_id, **{"outcome": "pass"})
    with pytest.raises(NotFound):
        svc.list_approvals(application_id=app_id)
    with pytest.raises(NotFound):
        svc.decide(application_id="app_nope", **{"outcome": "pass"})
    assert time.monotonic() - started < 0.3  # none of these waits
    with pytest.raises(NotFound):  # one sourcing may have made a moment ago: after the wait
        svc.decide(application_id=new_id("app"), **{"outcome": "pass"})
    assert time.monotonic() - started >= 0.3
    assert service(store, HR).list_approvals(application_id=app_id) == []


def test_deciding_waits_only_when_an_interview_completed_here(store):
    svc, rec = service(store, HR, wait=30), service(store, REC)
    app_id = new_id("app")
    changed(svc, app_id, "shortlisted", 2)
    interview = rec.schedule_interview(application_id=app_id, **BODY)
    changed(svc, app_id, "interviewing", 3)
    started = time.monotonic()
    with pytest.raises(Conflict) as exc:  # its interview is not complete here: interviewed cannot be on its way
        svc.decide(application_id=app_id, **{"outcome": "pass"})
    assert exc.value.code == "invalid_status" and "interviewing" in exc.value.message
    assert time.monotonic() - started < 5

    # the interview completes here; sourcing's `interviewed` comes back a moment later
    assert rec.submit_scorecard(interview_id=interview["id"], **{
        "interviewer": "ann", "ratings": {"craft": 4}, "recommendation": "yes"})["interview_status"] == "complete"
    late = threading.Timer(0.3, lambda: changed(service(store), app_id, "interviewed", 4))
    late.start()
    try:
        decision = svc.decide(application_id=app_id, **{"outcome": "pass"})
    finally:
        late.join()
    assert decision["next_status"] == "offered"
    assert svc.bus.payloads("decision_recorded")[0]["application_id"] == app_id


def test_an_erased_application_keeps_its_status_copy_marked_and_refuses_what_follows(store, test_infra):
    """The copy holds ids and a status only: the erasure handler (its dead letters purged on the session's real
    broker) marks it, counts it and keeps it, so the application still belongs to its division and a command
    is refused as erased; later changes about the candidate change nothing (the tombstone)."""
    from nameko import config

    from shared.bus import topology

    svc = service(store, HR)
    app_id = new_id("app")
    changed(svc, app_id, "interviewed", 4, candidate_id="cand_gone")
    topology.declare(test_infra.rabbit_url)
    env = EventEnvelope(type="candidate_erasure_requested", producer="sourcing", payload={
        "erasure_id": "era_1", "candidate_id": "cand_gone", "application_ids": [app_id], "reason": "request",
        "requested_at": iso(utcnow())})
    with config.patch({"AMQP_URI": test_infra.rabbit_url}):
        svc.on_candidate_erasure_requested(EVENT_MODELS[("sourcing", env.type)].model_validate(env.payload), env)
    [erased] = svc.bus.payloads("candidate_erased")
    assert erased["service"] == "interview_feedback" and erased["counts"]["statuses"] == 1
    assert copied(store, app_id)["erased"] is True
    changed(svc, app_id, "withdrawn", 5, candidate_id="cand_gone")  # acked as a no-op
    assert copied(store, app_id)["status"] == "interviewed"
    with pytest.raises(NotFound):
        service(store, OTHER_HR).decide(application_id=app_id, **{"outcome": "pass"})
    with pytest.raises(Conflict) as exc:
        svc.decide(application_id=app_id, **{"outcome": "pass", "note": "kept?"})
    assert exc.value.code == "application_erased"
    assert store.get_decision(app_id) is None
