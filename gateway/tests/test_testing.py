"""The fake of the services (gateway/testing.py) holds calls by a declaration (shared/contracts/rpc.py) to
what the real client does with them: arguments validated before anything is sent, the answer typed."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from gateway.testing import FakeServices
from shared.contracts import screening
from shared.contracts.caller import Caller
from shared.errors import Invalid

HR = Caller(key_id="key_1", name="hana", role="hr", divisions=("retail",))
RESULT = {"application_id": "app_1", "passed": True, "score": 50, "match": 60, "matched_skills": ["espresso"],
          "missing_skills": [], "reasons": ["Overridden"], "override": {"by": "hana", "reason": "knows the trade"}}


def test_a_call_by_declaration_is_validated_sent_in_its_json_form_and_answered_typed():
    fake = FakeServices()
    fake.answer(screening.Override, lambda call: {**RESULT, "application_id": call.kwargs["application_id"]})
    result = asyncio.run(fake(screening.Override, HR, application_id="app_1", passed=True, reason="knows the trade"))
    assert isinstance(result, screening.ScreeningResult) and result.application_id == "app_1" and result.passed
    [call] = fake.calls_to(("screening", "override"))  # a declaration and its (service, method) are one target
    assert call.kwargs == {"application_id": "app_1", "passed": True, "reason": "knows the trade"}
    assert call.caller == HR


def test_arguments_that_break_the_declaration_are_refused_before_the_call():
    fake = FakeServices()
    fake.answer(screening.Override, RESULT)
    with pytest.raises(Invalid) as refused:
        asyncio.run(fake(screening.Override, HR, application_id="app_1", passed="maybe", reason="x"))
    assert refused.value.field == "passed"
    assert fake.calls == []


def test_an_answer_that_breaks_the_declaration_fails_as_in_the_real_client():
    fake = FakeServices()
    fake.answer(screening.Override, {**RESULT, "score": 101})
    with pytest.raises(ValidationError):
        asyncio.run(fake(screening.Override, HR, application_id="app_1", passed=True, reason="x"))


def test_a_pair_is_answered_as_decoded_json_and_an_unanswered_call_is_a_lookup_error():
    fake = FakeServices()
    fake.answer(("screening", "get_screening"), RESULT)
    got = asyncio.run(fake(("screening", "get_screening"), HR, application_id="app_1"))
    assert got == RESULT and got is not RESULT
    with pytest.raises(LookupError, match="screening.override"):
        asyncio.run(fake(("screening", "override"), HR, application_id="app_1"))
