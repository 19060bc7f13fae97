"""Every RPC is declared once (shared/contracts/rpc.py) and every service implements exactly what it declares."""

import importlib

import pytest
from pydantic import BaseModel

from shared.contracts import rpc
from shared.contracts.common import SERVICES
from shared.errors import Invalid


def service_class(service: str):
    module = importlib.import_module(f"services.{service}.service")
    return next(v for v in vars(module).values() if isinstance(v, type) and getattr(v, "name", None) == service)


def implemented(cls) -> dict[str, rpc.Rpc]:
    return {name: fn.declared for name, fn in vars(cls).items() if hasattr(fn, "declared")}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_implements_each_of_its_declarations_under_its_own_name(service):
    found = implemented(service_class(service))
    for name, declared in found.items():
        assert declared.service == service and declared.method == name
    declared = rpc.declared(service)
    if declared:  # a service whose contract module exists implements all of it
        assert set(found) == set(declared), service


def test_declarations_validate_the_callers_arguments_naming_the_field():
    from shared.contracts import screening

    assert screening.Override.request(application_id="app_1", passed=True, reason=" why ") == {
        "passed": True, "reason": "why", "application_id": "app_1"}
    with pytest.raises(Invalid) as err:
        screening.Override.request(application_id="app_1", passed="yes", reason="why")
    assert err.value.field == "passed"


def test_an_answer_that_drifts_from_its_declaration_fails_where_it_is_made():
    from shared.contracts import screening

    good = {"application_id": "a", "passed": True, "score": 80, "match": 75, "matched_skills": [],
            "missing_skills": [], "reasons": [], "screened_at": None}
    assert screening.GetScreening.dump_result(good)["score"] == 80
    with pytest.raises(ValueError):
        screening.GetScreening.dump_result({**good, "email": "leak@x.io"})  # an undeclared field
    with pytest.raises(ValueError):
        screening.GetScreening.dump_result({**good, "score": 101})


def test_a_declaration_is_made_once():
    with pytest.raises(ValueError, match="declared twice"):
        rpc.Rpc("screening", "override", rpc.NoArgs, dict, rpc.STAFF)


def test_every_argument_and_answer_model_is_pydantic():
    for service in SERVICES:
        for declared in rpc.declared(service).values():
            # Args, or a request body of shared/contracts/commands.py plus ids: unknown fields refused either way
            assert issubclass(declared.args, BaseModel), declared.name
            assert declared.args.model_config.get("extra") == "forbid", declared.name
            assert declared.roles is not None
            annotation = declared.returns
            assert annotation is not None, declared.name
            if isinstance(annotation, type):
                assert issubclass(annotation, BaseModel | dict), declared.name
