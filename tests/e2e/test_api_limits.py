"""Resource limits of the running gateway, one test per kind: body size (declared or chunked), page size,
string lengths, array and map sizes. Each is refused with 413 or 422 whose message names the limit and, for a
422, whose `field` names the field. Also what the body as a whole gets when it is not a JSON object."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_hiring_loop import make_key

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "limits"
REQUISITION = {"title": "Clerk", "division": DIVISION, "department": "d", "tier": "basic", "required_skills": ["a"]}


@pytest.fixture(scope="module")
def hr(platform):
    return platform.client(make_key(platform.client(), "lima", "hr", [DIVISION]))


def refused(response, field: str, *words: str, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert all(w in error["message"] for w in (field, *words)), error
    return error


def test_body_size_is_limited_with_or_without_content_length(hr):
    over = b'{"title": "' + b"x" * 1_000_000 + b'"}'
    declared = hr.post("/v1/requisitions", content=over, headers={"Content-Type": "application/json"})
    refused(declared, "body", "1000000 bytes", status=413)
    assert declared.json()["error"]["code"] == "payload_too_large"

    def chunks(body: bytes, size: int = 64 * 1024):
        for i in range(0, len(body), size):
            yield body[i:i + size]

    streamed = hr.post("/v1/requisitions", content=chunks(over), headers={"Content-Type": "application/json"})
    assert "content-length" not in streamed.request.headers
    refused(streamed, "body", "1000000 bytes", status=413)
    small = json.dumps({**REQUISITION, "title": "Chunked"}).encode()
    ok = hr.post("/v1/requisitions", content=chunks(small, 7), headers={"Content-Type": "application/json"})
    assert ok.status_code == 201 and ok.json()["title"] == "Chunked", ok.text


def test_page_size_is_limited_on_every_list(platform, hr):
    req = hr.post("/v1/requisitions", json=REQUISITION).json()
    admin = platform.client()
    for client, path in ((hr, "/v1/requisitions"), (hr, f"/v1/requisitions/{req['id']}/applications"),
                         (hr, "/v1/talent-pool"), (admin, "/v1/api-keys")):
        refused(client.get(path, params={"limit": 501}), "limit", "500")
        assert client.get(path, params={"limit": 500}).status_code == 200
    first = admin.get("/v1/api-keys", params={"limit": 1}).json()  # the key list is paged like every list
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = admin.get("/v1/api-keys", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert second["items"][0]["id"] > first["items"][0]["id"]


def test_string_lengths_are_limited_in_bodies_queries_and_headers(hr):
    refused(hr.post("/v1/requisitions", json={**REQUISITION, "title": "t" * 201}), "title", "200 characters")
    refused(hr.post("/v1/requisitions", json={**REQUISITION, "required_skills": ["s" * 81]}),
            "required_skills.0", "80 characters")
    refused(hr.get("/v1/requisitions", params={"cursor": "c" * 201}), "cursor", "200 characters")
    refused(hr.get("/v1/talent-pool", params={"skill": "s" * 81}), "skill", "80 characters")
    refused(hr.get("/v1/reports/notification-timing", params={"from": "2" * 41}), "from", "40 characters")
    refused(hr.post("/v1/requisitions", json=REQUISITION, headers={"Idempotency-Key": "k" * 201}),
            "Idempotency-Key", "200 characters")


def test_array_and_map_sizes_are_limited(hr):
    refused(hr.post("/v1/requisitions", json={**REQUISITION, "required_skills": [f"s{n}" for n in range(101)]}),
            "required_skills", "100 items")
    refused(hr.post("/v1/applications/app_x/interviews", json={
        "interviewers": [f"i{n}" for n in range(21)], "scheduled_at": "2026-12-01T09:00:00Z",
        "competencies": ["c"]}), "interviewers", "20 items")
    refused(hr.post("/v1/applications", json={
        "requisition_id": "req_x", "source": "web", "answers": {f"q{n}": True for n in range(21)},
        "candidate": {"name": "n", "email": "n@example.com", "years_experience": 1}}), "answers", "20 items")


def test_a_body_that_is_not_a_json_object_is_refused_naming_the_body(hr):
    # found by the API fuzz test: 400 "error" for a body that is not UTF-8, and 422s whose `field` was a
    # character position ("18") or missing
    json_type = {"Content-Type": "application/json"}
    refused(hr.post("/v1/requisitions", content=b"\x80\x81 not utf-8", headers=json_type), "body", "UTF-8")
    refused(hr.post("/v1/requisitions", content=b'{"title": "x"', headers=json_type), "body", "not valid JSON")
    refused(hr.post("/v1/requisitions"), "body", "JSON object")
    refused(hr.post("/v1/requisitions", content=b"[1, 2]", headers=json_type), "body", "JSON object")
    refused(hr.post("/v1/requisitions", content=b"title=x", headers={"Content-Type": "text/plain"}), "body",
            "Content-Type: application/json")
    refused(hr.post("/v1/requisitions", json={**REQUISITION, "min_years": False}), "min_years", "number")
