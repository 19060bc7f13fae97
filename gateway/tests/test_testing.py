"""The fake of the services (gateway/testing.py) holds calls by a declaration (shared/contracts/rpc.py) to
what the real client does with them: arguments validated before anything is sent, the answer typed; and
when it stands for every service at once (`answer_declared`), its answers are valid for their declarations."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from gateway.testing import Call, FakeServices, sample
from shared.contracts import interview_feedback, screening
from shared.contracts.caller import Caller
from shared.errors import Invalid, NotFound

HR = Caller(key_id="key_1", name="hana", role="hr", divisions=("retail",))
RESULT = {"application_id": "app_1", "passed": True, "score": 50, "match": 60, "matched_skills": ["espresso"],
          "missing_skills": [], "reasons": ["Overridden"], "override": {"by": "hana", "reason": "knows the trade"}}


def test_a_call_by_declaration_is_validated_sent_in_its_json_form_and_answered_typed():
    fake = FakeServices()
    fake.answer(screening.Override, lambda call: {**RESULT, "application_id": call.kwargs["application_id"]})
    result = asyncio.run(fake(screening.Override, HR, application_id="app_1", passed=True, reason="knows the trade"))
    assert isinstance(result, screening.ScreeningResult) and result.application_id == "app_1" and result.passed
    [call] = fake.calls_to(screening.Override)
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


def test_an_answer_is_read_from_its_json_copy_and_an_unanswered_call_is_a_lookup_error():
    fake = FakeServices()
    fake.answer(screening.GetScreening, RESULT)
    got = asyncio.run(fake(screening.GetScreening, HR, application_id="app_1"))
    assert got.model_dump(mode="json", exclude_unset=True) == RESULT
    with pytest.raises(LookupError, match="screening.override"):
        asyncio.run(fake(screening.Override, HR, application_id="app_1", passed=True, reason="knows the trade"))


HELD = {"application_id": "app_1", "requisition_id": "req_1", "interview_id": "int_1", "division": "retail"}


def test_answer_declared_answers_every_declaration_validly_for_what_it_holds():
    from shared.contracts.common import SERVICES
    from shared.contracts.rpc import declared

    fake = FakeServices()
    fake.answer_declared(HELD)
    for service in SERVICES:
        for method, declaration in declared(service).items():
            answer = asyncio.run(fake._answer(Call(service, method, HR, {})))
            declaration.read_result(answer)  # valid for its declaration (raises if not)
    interview = asyncio.run(fake(interview_feedback.GetInterview, HR, interview_id="int_1"))
    assert (interview.id, interview.application_id, interview.division) == ("int_1", "app_1", "retail")
    steps = asyncio.run(fake(interview_feedback.ListApprovals, HR, application_id="app_1"))
    assert len(steps) == 1 and steps[0].id.startswith("approvalstep")  # an id of a kind it does not hold


def test_answer_declared_finds_nothing_it_does_not_hold():
    fake = FakeServices()
    fake.answer_declared(HELD)
    with pytest.raises(NotFound, match="interview int_2 not found"):
        asyncio.run(fake(interview_feedback.GetInterview, HR, interview_id="int_2"))
    # a list filtered by an id it does not hold is empty, not an error
    page = asyncio.run(fake(interview_feedback.ListInterviews, HR, application_id="app_2"))
    assert page.items == [] and page.next_cursor is None
    assert asyncio.run(fake(interview_feedback.ListApprovals, HR, application_id="app_2")) == []
    assert fake.calls_to(interview_feedback.GetInterview)[0].kwargs == {"interview_id": "int_2"}


def test_a_sample_is_valid_for_its_type_and_takes_the_values_given():
    value = sample(screening.ScreeningResult, {"application_id": "app_9", "reasons": ["Knows the trade"]})
    assert screening.ScreeningResult.model_validate(value).application_id == "app_9"
    assert value["reasons"] == ["Knows the trade"] and 0 <= value["score"] <= 100
    with pytest.raises(ValidationError):
        sample(screening.ScreeningResult, {"score": 101})  # a value its own type refuses is not a sample
