"""Sourcing's copy of a screening keeps what screening found in the CV (the careers issue): `GET
/v1/applications/{id}` shows `screening.skills_from_cv`, and an erasure empties it like the other skills."""

import pytest
from nameko.testing.services import worker_factory

from services.sourcing import domain
from services.sourcing.service import SourcingService
from services.sourcing.store import SourcingStore
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.ids import new_id
from tests.support.divisions import register
from tests.support.shell import InProcessBus, deliver

HR = Caller(key_id="k1", name="helen", role="hr", divisions=("retail",))
REQ = {"title": "Backend engineer", "division": "retail", "department": "it", "tier": "basic",
       "required_skills": ["Python", "Docker"], "skills": [], "min_years": 1}


@pytest.fixture
def svc(make_store):
    store = register(make_store(SourcingStore))
    return worker_factory(SourcingService, store=store, bus=InProcessBus(store, HR), settings=Settings())


def test_the_application_shows_the_skills_screening_found_only_in_the_cv(svc):
    req = svc.create_requisition(**REQ)
    app_id = svc.submit_application(requisition_id=req["id"], source="careers", candidate={
        "name": "Ann", "email": f"{new_id('ann')}@example.org", "skills": ["python"], "years_experience": 2})["id"]
    result = {"passed": True, "score": 100, "match": 100, "matched_skills": ["Python", "Docker"],
              "missing_skills": [], "skills_from_cv": ["Docker", "Kubernetes"],
              "reasons": ["Has all 2 required skills: Python, Docker.",
                          "Found in the CV, not typed in the application: Docker."]}
    deliver(svc.on_application_screened, "screening", "application_screened",
            {"application_id": app_id, "requisition_id": req["id"], "division": "retail", "result": result})
    app = svc.get_application(application_id=app_id)
    assert app["status"] == "shortlisted"
    assert app["screening"]["skills_from_cv"] == ["Docker", "Kubernetes"]
    assert app["screening"]["reasons"][-1] == "Found in the CV, not typed in the application: Docker."
    stored = svc.store.db.applications.find_one({"_id": app_id})
    assert domain.anonymised_application(stored)["screening"]["skills_from_cv"] == []
