"""The careers issue's staff routes in process against fakes of the services (gateway/testing.py): PATCH
/v1/requisitions/{id} and the division records; real Redis and MongoDB (keys, idempotency records)."""

from __future__ import annotations

import secrets

import pytest

from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import sourcing
from shared.errors import Conflict, NotFound

REQUISITION = {"id": "req_1", "status": "open", "title": "Barista", "division": "retail", "department": "Cafe",
               "tier": "basic", "urgent": False, "required_skills": ["espresso"], "skills": [], "min_years": 0,
               "location": "Shanghai", "headcount": 1, "knockout_questions": [], "created_at": "2026-01-05T09:00:00Z",
               "closed_at": None, "close_reason": None}
DIVISION = {"id": "retail", "name": "Retail", "timezone": "Asia/Shanghai", "locale": "zh-CN", "careers_blurb": "",
            "colour": "#1f6f5c", "meeting_url_template": None, "created_at": "2026-01-05T09:00:00Z",
            "updated_at": "2026-01-05T09:00:00Z"}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "postings") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    return gateway


def error(response) -> dict:
    return response.json()["error"]


def patched(call) -> dict:
    """What sourcing answers to a PATCH: the requisition with the fields sent (the fake applies them)."""
    fields = {k: v for k, v in call.kwargs.items() if k != "requisition_id"}
    return {**REQUISITION, **fields, "updated_at": "2026-01-06T09:00:00Z",
            "history": [{"at": "2026-01-06T09:00:00Z", "by": call.caller.name, "action": "edited",
                         "fields": sorted(fields)}]}


def test_patch_sends_only_the_fields_sent_and_null_as_null(gw):
    gw.fake.answer(sourcing.PatchRequisition, patched)
    hr = gw.as_("hr")
    response = gw.client.patch("/v1/requisitions/req_1", headers=hr,
                               json={"description": "## Role\nPull shots.", "salary_range": None, "published": True})
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "## Role\nPull shots." and response.json()["published"] is True
    (call,) = gw.fake.calls_to(sourcing.PatchRequisition)
    # left out stays out (the service leaves it unchanged); null travels as null (the service clears it)
    assert call.kwargs == {"requisition_id": "req_1", "description": "## Role\nPull shots.", "salary_range": None,
                           "published": True}
    assert gw.client.patch("/v1/requisitions/req_1", headers=gw.as_("admin"), json={}).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"division": "logistics"}, "division"),  # a requisition stays in its division
    ({"employment_type": "gig"}, "employment_type"),
    ({"salary_range": {"min": 9, "max": 1, "currency": "EUR", "period": "year"}}, "salary_range.max"),
    ({"salary_range": {"min": 1, "max": 9, "currency": "euro", "period": "year"}}, "salary_range.currency"),
    ({"description": "x" * 20_001}, "description"),
    ({"closes_at": 1767225600}, "closes_at"),  # a number is not a time
    ({"headcount": 0}, "headcount"),
])
def test_bad_patches_are_422_naming_the_field_and_reach_no_service(gw, body, field):
    gw.fake.answer(sourcing.PatchRequisition, patched)
    response = gw.client.patch("/v1/requisitions/req_1", headers=gw.as_("hr"), json=body)
    assert response.status_code == 422 and error(response)["field"] == field, response.text
    assert gw.fake.calls == []


def test_who_may_patch_and_what_the_service_refuses(gw):
    gw.fake.answer(sourcing.PatchRequisition, patched)
    for role in ("recruiter", "interviewer"):
        refused = gw.client.patch("/v1/requisitions/req_1", headers=gw.as_(role), json={"title": "x"})
        assert refused.status_code == 403 and error(refused)["code"] == "forbidden"
    assert gw.fake.calls == []
    gw.fake.answer(sourcing.PatchRequisition, Conflict("requisition req_1 is closed; it can no longer be edited",
                                                       code="requisition_closed"))
    closed = gw.client.patch("/v1/requisitions/req_1", headers=gw.as_("hr"), json={"published": True})
    assert closed.status_code == 409 and error(closed)["code"] == "requisition_closed"
    gw.fake.answer(sourcing.PatchRequisition, NotFound("requisition req_9 not found"))
    assert gw.client.patch("/v1/requisitions/req_9", headers=gw.as_("hr"), json={"title": "x"}).status_code == 404


def test_a_patch_retried_with_its_idempotency_key_is_done_once_and_left_out_is_not_null(gw):
    gw.fake.answer(sourcing.PatchRequisition, patched)
    headers = {**gw.as_("hr"), "Idempotency-Key": secrets.token_hex(8)}
    first = gw.client.patch("/v1/requisitions/req_1", headers=headers, json={"title": "Head barista"})
    again = gw.client.patch("/v1/requisitions/req_1", headers=headers, json={"title": "Head barista"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert len(gw.fake.calls_to(sourcing.PatchRequisition)) == 1
    # the same key with `location: null` added is another request (it would clear the location): refused
    other = gw.client.patch("/v1/requisitions/req_1", headers=headers, json={"title": "Head barista",
                                                                            "location": None})
    assert other.status_code == 422 and error(other)["field"] == "Idempotency-Key"
    assert len(gw.fake.calls_to(sourcing.PatchRequisition)) == 1


def test_division_records_through_the_api(gw):
    gw.fake.answer(sourcing.ListDivisions, {"items": [DIVISION]})
    gw.fake.answer(sourcing.GetDivision, lambda call: {**DIVISION, "id": call.kwargs["division_id"]})
    gw.fake.answer(sourcing.CreateDivision, lambda call: {**DIVISION, **call.kwargs})
    gw.fake.answer(sourcing.PatchDivision, lambda call: {
        **DIVISION, **{k: v for k, v in call.kwargs.items() if k != "division_id"}, "id": call.kwargs["division_id"]})
    admin, hr = gw.as_("admin"), gw.as_("hr")
    assert gw.client.get("/v1/divisions", headers=hr).json() == {"items": [DIVISION]}
    assert gw.client.get("/v1/divisions/retail", headers=hr).json()["timezone"] == "Asia/Shanghai"
    assert gw.client.get("/v1/divisions", headers=gw.as_("interviewer")).status_code == 403

    body = {"id": "cn-stores", "name": "Stores China", "timezone": "Asia/Shanghai", "locale": "zh-CN",
            "careers_blurb": "咖啡与人", "colour": "#aa3300"}
    created = gw.client.post("/v1/divisions", headers=admin, json=body)
    assert created.status_code == 201 and created.json()["careers_blurb"] == "咖啡与人"
    assert gw.client.post("/v1/divisions", headers=hr, json=body).status_code == 403
    for bad, field in (({**body, "colour": "red"}, "colour"), ({**body, "locale": "fr"}, "locale"),
                       ({**body, "id": "has space"}, "id"), ({"id": "x"}, "name")):
        refused = gw.client.post("/v1/divisions", headers=admin, json=bad)
        assert refused.status_code == 422 and error(refused)["field"] == field, bad
    gw.fake.answer(sourcing.CreateDivision, Conflict("division cn-stores already has a record", code="division_exists"))
    dup = gw.client.post("/v1/divisions", headers=admin, json=body)
    assert dup.status_code == 409 and error(dup)["code"] == "division_exists"

    changed = gw.client.patch("/v1/divisions/retail", headers=admin, json={"careers_blurb": "Join us"})
    assert changed.status_code == 200 and changed.json()["careers_blurb"] == "Join us"
    assert gw.fake.calls_to(sourcing.PatchDivision)[-1].kwargs == {"division_id": "retail", "careers_blurb": "Join us"}
    assert gw.client.patch("/v1/divisions/retail", headers=hr, json={"name": "x"}).status_code == 403


def test_the_openapi_document_describes_the_new_routes(gw):
    paths = gw.client.get("/openapi.json").json()["paths"]
    patch = paths["/v1/requisitions/{requisition_id}"]["patch"]
    assert {"200", "401", "403", "404", "409", "422", "503"} <= set(patch["responses"])
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RequisitionPatch")
    assert set(paths["/v1/divisions"]) == {"get", "post"} and set(paths["/v1/divisions/{division_id}"]) == {
        "get", "patch"}
    assert paths["/v1/divisions"]["post"]["responses"]["201"]["content"]["application/json"]["schema"][
        "$ref"].endswith("/DivisionRecord")
