"""Screening with a CV (the careers issue), the shell against a real MongoDB (nameko's worker_factory, the
in-process bus with the real document write): an application that names `cv_document_id` is screened once
sourcing's `document_read` of that file is here too, in either order and whatever is delivered twice; a
reading that does not come is given up on after CV_READ_WAIT_SECONDS (the backstop timer)."""

import dataclasses
import time

import pytest
from nameko.testing.services import worker_factory

from services.screening.service import ScreeningService
from services.screening.store import ScreeningStore
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.storage import AlreadyHandled, state_of
from shared.timeutil import iso, utcnow
from tests.support.hot_path import Query, unindexed
from tests.support.shell import InProcessBus
from tests.support.shell import deliver as shell_deliver

REC = Caller(key_id="k1", name="rita", role="recruiter", divisions=("retail",))
REQUISITION = {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores", "tier": "basic",
               "required_skills": ["Coffee", "Customer Service"], "skills": ["Latte Art"], "min_years": 2,
               "knockout_questions": [{"id": "permit", "question": "Work permit?"}]}


@pytest.fixture
def store(make_store):
    return make_store(ScreeningStore)


def service(store, wait=300.0):
    settings = dataclasses.replace(Settings(), cv_read_wait_seconds=wait)
    svc = worker_factory(ScreeningService, store=store, bus=InProcessBus(store, REC), settings=settings)
    svc.status_wait_seconds = 0.2
    return svc


def received(svc, app_id, cv="doc_cv", skills=("coffee",), years=3, event_id=None, candidate_id="cand_1"):
    return shell_deliver(svc.on_application_received, "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": candidate_id, "source": "careers", "received_at": iso(utcnow()),
        "requisition": REQUISITION, "answers": {"permit": True}, "self_applied": True, "cv_document_id": cv,
        "candidate": {"name": "Ann", "email": "sealed", "skills": list(skills), "years_experience": years}},
        event_id)


def read(svc, app_id, document_id="doc_cv", skills=("Customer Service", "latte art", "Docker"), years=None,
         status="extracted", why=None, kind="cv", event_id=None, candidate_id="cand_1"):
    return shell_deliver(svc.on_document_read, "sourcing", "document_read", {
        "document_id": document_id, "application_id": app_id, "candidate_id": candidate_id,
        "requisition_id": "req_1", "division": "retail", "kind": kind, "text_status": status,
        "skills_found": list(skills) if status == "extracted" else [], "years_found": years,
        "unreadable_reason": why, "read_at": iso(utcnow())}, event_id)


def screened(svc):
    return [p["result"] for p in svc.bus.payloads("application_screened")]


def assert_screened_on_both(svc, store, app_id):
    [result] = screened(svc)
    assert result["passed"] is True  # "Customer Service", required, is only in the CV
    assert result["matched_skills"] == ["Coffee", "Customer Service", "Latte Art"] and result["match"] == 100
    assert result["skills_from_cv"] == ["Customer Service", "latte art", "Docker"]
    assert "Found in the CV, not typed in the application: Customer Service, Latte Art." in result["reasons"]
    view = svc.get_screening(application_id=app_id)
    assert view["skills_from_cv"] == result["skills_from_cv"] and view["passed"] is True
    # the document is a result like any other now: what it kept while waiting is gone
    assert set(state_of(store.get(app_id))) == {"_id", "requisition_id", "division", "result", "screened_by",
                                                "screened_at"}


def test_the_application_first_waits_for_its_cv_then_is_screened_on_both(store):
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id)
    assert screened(svc) == []
    waiting = store.get(app_id)["waiting"]
    assert waiting["cv_document_id"] == "doc_cv" and waiting["candidate"]["skills"] == ["coffee"]
    assert "name" not in waiting["candidate"] and "email" not in waiting["candidate"]  # no contact kept
    with pytest.raises(NotFound):  # not screened yet
        svc.get_screening(application_id=app_id)
    with pytest.raises(Conflict) as exc:  # its status copy says received; the result is not there yet
        svc.override(application_id=app_id, passed=True, reason="looks good")
    assert exc.value.code == "not_screened"
    assert store.projected_application(app_id)["status"] == "received"
    read(svc, app_id)
    assert_screened_on_both(svc, store, app_id)


def test_the_reading_first_is_kept_until_its_application_comes(store):
    svc = service(store)
    app_id = new_id("app")
    read(svc, app_id)
    assert screened(svc) == [] and store.get(app_id)["cv_reads"][0]["document_id"] == "doc_cv"
    with pytest.raises(NotFound):
        svc.get_screening(application_id=app_id)
    received(svc, app_id)
    assert_screened_on_both(svc, store, app_id)
    assert store.projected_application(app_id)["status"] == "received"


@pytest.mark.parametrize("reading_first", [False, True], ids=["application first", "reading first"])
def test_deliveries_twice_screen_once(store, reading_first):
    svc = service(store)
    app_id = new_id("app")
    first, second = (read, received) if reading_first else (received, read)
    env = first(svc, app_id)
    with pytest.raises(AlreadyHandled):  # the same message again: the inbox consumer acks it
        first(svc, app_id, event_id=env.event_id)
    first(svc, app_id)  # the same thing announced again, as a new event
    assert screened(svc) == []
    env = second(svc, app_id)
    with pytest.raises(AlreadyHandled):
        second(svc, app_id, event_id=env.event_id)
    received(svc, app_id)
    read(svc, app_id)
    read(svc, app_id, skills=("Forklift",))  # a later reading of the same file: the verdict stands
    assert_screened_on_both(svc, store, app_id)


def test_an_unreadable_cv_is_screened_on_the_typed_skills_and_says_so(store):
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id, skills=("coffee", "customer service"))
    read(svc, app_id, status="unreadable", why="encrypted PDF")
    [result] = screened(svc)
    assert result["passed"] is True and result["skills_from_cv"] == []
    assert result["matched_skills"] == ["Coffee", "Customer Service"]
    assert result["reasons"][-1] == ("The CV could not be read (encrypted PDF): screened on the skills typed in "
                                     "the application.")


def test_more_years_in_the_cv_are_mentioned_and_the_typed_years_decide(store):
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id, years=1)
    read(svc, app_id, years=6)
    [result] = screened(svc)
    assert result["passed"] is False
    assert "1 year of experience, below the minimum of 2 years." in result["reasons"]
    assert ("The CV states 6 years of experience, more than the 1 year typed in the application; screened on the "
            "typed figure.") in result["reasons"]


def test_other_files_do_not_count(store):
    svc = service(store)
    app_id = new_id("app")
    read(svc, app_id, document_id="doc_letter", kind="other")  # not a CV: nothing kept
    assert store.get(app_id) is None
    received(svc, app_id)
    read(svc, app_id, document_id="doc_older_cv")  # a CV, but not the one this application came with
    assert screened(svc) == [] and "cv_reads" not in store.get(app_id)
    read(svc, app_id)
    assert_screened_on_both(svc, store, app_id)


def test_an_application_without_a_cv_is_screened_at_once_as_before(store):
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id, cv=None, skills=("coffee", "customer service"))
    [result] = screened(svc)
    assert result["passed"] is True and result["skills_from_cv"] == []
    assert not any("CV" in s for s in result["reasons"])
    read(svc, app_id)  # a CV attached afterwards changes nothing
    assert len(screened(svc)) == 1 and svc.get_screening(application_id=app_id)["skills_from_cv"] == []


def test_the_backstop_screens_on_typed_skills_once_the_wait_ran_out(store):
    patient, impatient = service(store, wait=300), service(store, wait=0.3)
    app_id, ready_id = new_id("app"), new_id("app")
    received(patient, app_id, skills=("coffee", "customer service"))
    received(patient, ready_id)
    read(patient, ready_id)  # screened: nothing for the backstop
    time.sleep(0.4)
    assert patient.screen_waiting() == 0  # 300 s have not passed
    assert impatient.screen_waiting() == 1
    [result] = screened(impatient)
    assert result["passed"] is True and result["skills_from_cv"] == []
    assert result["reasons"][-1] == ("The CV reading had not arrived after 0.3 seconds: screened on the skills "
                                     "typed in the application.")
    assert impatient.screen_waiting() == 0  # another replica's tick, or the next one: done already
    read(patient, app_id)  # the reading, late: the verdict stands
    assert [p["application_id"] for p in patient.bus.payloads("application_screened")] == [ready_id]
    assert patient.get_screening(application_id=app_id)["reasons"][-1].startswith("The CV reading had not arrived")
    assert store.waiting_since(utcnow()) == []
    # the backstop's look-up, every few seconds on every replica, is served by an index
    look_up = Query(store.db.name, "results", "find", {"waiting.since": {"$lte": utcnow()}})
    assert unindexed(store.client, [look_up]) == []


def test_a_waiting_application_of_an_erased_candidate_keeps_nothing(store, test_infra):
    """The erasure drops what a waiting application kept (skills, years, answers) and a reading that comes
    later changes nothing; the backstop does not screen it."""
    from nameko import config

    from shared.bus import topology

    svc = service(store, wait=0.1)
    app_id, read_first_id = new_id("app"), new_id("app")
    received(svc, app_id)
    read(svc, read_first_id)
    topology.declare(test_infra.rabbit_url)
    payload = {"erasure_id": "era_1", "candidate_id": "cand_1", "application_ids": [app_id, read_first_id],
               "reason": "request", "requested_at": iso(utcnow())}
    env = EventEnvelope(type="candidate_erasure_requested", producer="sourcing", payload=payload)
    with config.patch({"AMQP_URI": test_infra.rabbit_url}):
        svc.on_candidate_erasure_requested(EVENT_MODELS[("sourcing", env.type)].model_validate(env.payload), env)
    [erased] = svc.bus.payloads("candidate_erased")
    assert erased["counts"]["results"] == 2
    for doc_id in (app_id, read_first_id):
        assert set(state_of(store.get(doc_id))) == {"_id", "requisition_id", "division", "erased"}
    read(svc, app_id)
    received(svc, read_first_id)
    time.sleep(0.2)
    assert svc.screen_waiting() == 0
    assert screened(svc) == []
    for doc_id in (app_id, read_first_id):
        assert set(state_of(store.get(doc_id))) == {"_id", "requisition_id", "division", "erased"}


def test_an_erased_result_drops_the_skills_from_the_cv(store):
    svc = service(store)
    app_id = new_id("app")
    received(svc, app_id)
    read(svc, app_id)
    store.anonymise([app_id], None)
    result = store.get(app_id)["result"]
    assert result["skills_from_cv"] == [] and result["reasons"] == [] and result["passed"] is True
