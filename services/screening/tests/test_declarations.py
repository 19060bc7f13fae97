"""The screening shell in process (tests/support/shell.py): roles, arguments and answers as declared in
shared/contracts/screening.py."""

from datetime import UTC, datetime

import pytest
from nameko.testing.services import worker_factory

from services.screening.service import ScreeningService
from services.screening.store import ScreeningStore
from shared.contracts import screening as contract
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from tests.support.shell import InProcessBus, status_changed

HR = Caller(key_id="k1", name="alice", role="hr", divisions=("logistics",))
RETAIL_HR = Caller(key_id="k2", name="bob", role="hr", divisions=("retail",))
INTERVIEWER = Caller(key_id="k3", name="ivan", role="interviewer", divisions=("logistics",))
ADMIN = Caller(key_id="k4", name="root", role="admin", divisions=())


@pytest.fixture
def store(make_store):
    return make_store(ScreeningStore)


def shell(store, caller=HR):
    return worker_factory(ScreeningService, store=store, bus=InProcessBus(store, caller))


def receive(svc, app_id="app_1", division="logistics", skills=("python", "sql")):
    payload = {
        "application_id": app_id, "candidate_id": "cand_1",
        "requisition": {"id": "req_1", "title": "Data Engineer", "division": division, "department": "data",
                        "tier": "basic", "urgent": False, "required_skills": ["Python", "SQL"], "skills": [],
                        "min_years": 0, "status": "open"},
        "candidate": {"name": "Ana", "email": "ana@x.io", "skills": list(skills)},
        "source": "referral", "talent_pool_consent": True, "answers": {}, "received_at": "2026-12-01T09:00:00Z"}
    env = EventEnvelope(type="application_received", producer="sourcing", payload=payload)
    svc.on_application_received(EVENT_MODELS[("sourcing", "application_received")].model_validate(payload), env)


def test_get_screening_answers_the_declared_result_in_the_callers_divisions_only(store):
    receive(shell(store))
    found = shell(store).get_screening(application_id="app_1")
    assert contract.ScreeningResult.model_validate(found).application_id == "app_1"
    assert found["passed"] is True and found["match"] == 100
    with pytest.raises(NotFound):
        shell(store, RETAIL_HR).get_screening(application_id="app_1")


def test_arguments_are_parsed_as_declared(store):
    svc = shell(store)
    with pytest.raises(Invalid) as bad:
        svc.get_screening(application_id="")
    assert bad.value.field == "application_id"
    with pytest.raises(Invalid) as extra:
        svc.get_screening(application_id="app_1", division="retail")
    assert extra.value.field == "division" and "unknown field" in extra.value.message


def test_roles_are_the_declarations(store):
    receive(shell(store))
    with pytest.raises(Forbidden):
        shell(store, INTERVIEWER).override(application_id="app_1", passed=False, reason="no")
    with pytest.raises(Forbidden):
        shell(store, HR).export_candidate(candidate_id="cand_1", application_ids=["app_1"])
    exported = shell(store, ADMIN).export_candidate(candidate_id="cand_1", application_ids=["app_1"])
    assert [r["application_id"] for r in exported["results"]] == ["app_1"]


def status(svc, app_id, value, sequence, division="logistics"):
    status_changed(svc, app_id, value, sequence, division=division, title="Data Engineer",
                   at=datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))


def test_override_of_an_unscreened_application_is_a_conflict(store):
    svc = shell(store)
    status(svc, "app_none", "received", 1)
    with pytest.raises(Conflict) as err:
        svc.override(application_id="app_none", passed=True, reason="referral")
    assert err.value.code == "not_screened"


def test_override_records_who_and_why_and_announces_it(store):
    receive(shell(store), skills=("python",))
    svc = shell(store)
    status(svc, "app_1", "screened_out", 2)
    result = svc.override(application_id="app_1", passed=True, reason="strong referral")
    assert result["passed"] is True and result["override"]["by"] == "alice"
    assert result["override"]["reason"] == "strong referral"
    [event] = svc.bus.of_type("application_screened")
    assert event.payload["result"]["passed"] is True
