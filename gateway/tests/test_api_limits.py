"""Resource limits of the gateway, in process against a fake of the services, one test per kind: body size
(declared or chunked), page size, string lengths, array and map sizes. Each is refused with 413 or 422 whose
message names the limit and, for a 422, whose `field` names the field; a refused request reaches no service.
Also what the body as a whole gets when it is not a JSON object."""

from __future__ import annotations

import json

import httpx
import pytest

from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import sourcing, talent_pool

pytestmark = pytest.mark.integration

DIVISION = "limits"
REQUISITION = {"title": "Clerk", "division": DIVISION, "department": "d", "tier": "basic", "required_skills": ["a"]}
EMPTY_PAGE = {"items": [], "next_cursor": None}


def requisition(call) -> dict:
    """A requisition as sourcing answers its creation (shared/contracts/sourcing.py; from the call's arguments)."""
    return {"id": "req_1", "status": "open", "urgent": False, "skills": [], "min_years": 0, "location": None,
            "headcount": 1, "knockout_questions": [], "created_at": "2026-01-05T09:00:00Z", "closed_at": None,
            "close_reason": None, **call.kwargs}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "limits") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer(sourcing.CreateRequisition, requisition)
    gateway.fake.answer(sourcing.ListRequisitions, EMPTY_PAGE)
    gateway.fake.answer(sourcing.ListApplications, EMPTY_PAGE)
    gateway.fake.answer(talent_pool.ListPool, EMPTY_PAGE)
    return gateway


@pytest.fixture
def hr(gw):
    return {"Authorization": f"Bearer {gw.key('hr', (DIVISION,), name='lima')[1]}"}


def refused(response, field: str, *words: str, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert all(w in error["message"] for w in (field, *words)), error
    return error


def streamed(gw, path: str, chunks: list[bytes], headers: dict) -> tuple[httpx.Response, int]:
    """POST `chunks` as a body of unknown length (Transfer-Encoding: chunked), each its own ASGI message, as a
    server hands them over; the response and how many body messages the gateway read."""
    read = 0

    async def counting(scope, receive, send):
        async def counted():
            nonlocal read
            message = await receive()
            read += message["type"] == "http.request"
            return message
        await gw.app(scope, counted, send)

    async def post():
        async def body():
            for chunk in chunks:
                yield chunk
        transport = httpx.ASGITransport(app=counting)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(path, content=body(), headers=headers)
    return gw.call(post), read


def test_body_size_is_limited_with_or_without_content_length(gw, hr):
    json_type = {**hr, "Content-Type": "application/json"}
    over = b'{"title": "' + b"x" * 2_000_000 + b'"}'
    declared = gw.client.post("/v1/requisitions", content=over, headers=json_type)
    refused(declared, "body", "1000000 bytes", status=413)
    assert declared.json()["error"]["code"] == "payload_too_large"

    def chunks(body: bytes, size: int = 64 * 1024) -> list[bytes]:
        return [body[i:i + size] for i in range(0, len(body), size)]

    too_long, read = streamed(gw, "/v1/requisitions", chunks(over), json_type)
    assert "content-length" not in too_long.request.headers
    refused(too_long, "body", "1000000 bytes", status=413)
    assert read < len(chunks(over)), "refused as soon as the body went over, not after reading all of it"
    assert gw.fake.calls == []

    small = json.dumps({**REQUISITION, "title": "Chunked"}).encode()
    ok, read = streamed(gw, "/v1/requisitions", chunks(small, 7), json_type)
    assert ok.status_code == 201 and ok.json()["title"] == "Chunked", ok.text
    assert read >= len(small) // 7  # the body did arrive in pieces, and was put together
    [call] = gw.fake.calls_to(sourcing.CreateRequisition)
    assert call.kwargs["title"] == "Chunked" and call.kwargs["division"] == DIVISION


def test_page_size_is_limited_on_every_list(gw, hr):
    admin = gw.as_("admin")
    for headers, path in ((hr, "/v1/requisitions"), (hr, "/v1/requisitions/req_1/applications"),
                          (hr, "/v1/talent-pool"), (admin, "/v1/api-keys")):
        refused(gw.client.get(path, params={"limit": 501}, headers=headers), "limit", "500")
        assert gw.client.get(path, params={"limit": 500}, headers=headers).status_code == 200
    # the services were asked for 500 at most, never for 501
    limits = [c.kwargs["limit"] for c in gw.fake.calls]
    assert limits == [500, 500, 500], limits
    first = gw.client.get("/v1/api-keys", params={"limit": 1}, headers=admin).json()  # paged like every list
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = gw.client.get("/v1/api-keys", params={"limit": 1, "cursor": first["next_cursor"]}, headers=admin).json()
    assert second["items"][0]["id"] > first["items"][0]["id"]


def test_string_lengths_are_limited_in_bodies_queries_and_headers(gw, hr):
    post, get = gw.client.post, gw.client.get
    refused(post("/v1/requisitions", json={**REQUISITION, "title": "t" * 201}, headers=hr), "title", "200 characters")
    refused(post("/v1/requisitions", json={**REQUISITION, "required_skills": ["s" * 81]}, headers=hr),
            "required_skills.0", "80 characters")
    refused(get("/v1/requisitions", params={"cursor": "c" * 201}, headers=hr), "cursor", "200 characters")
    refused(get("/v1/talent-pool", params={"skill": "s" * 81}, headers=hr), "skill", "80 characters")
    refused(get("/v1/reports/notification-timing", params={"from": "2" * 41}, headers=hr), "from", "40 characters")
    refused(post("/v1/requisitions", json=REQUISITION, headers={**hr, "Idempotency-Key": "k" * 201}),
            "Idempotency-Key", "200 characters")
    assert gw.fake.calls == []


def test_array_and_map_sizes_are_limited(gw, hr):
    refused(gw.client.post("/v1/requisitions", json={
        **REQUISITION, "required_skills": [f"s{n}" for n in range(101)]}, headers=hr), "required_skills", "100 items")
    refused(gw.client.post("/v1/applications/app_x/interviews", json={
        "interviewers": [f"i{n}" for n in range(21)], "scheduled_at": "2026-12-01T09:00:00Z",
        "competencies": ["c"]}, headers=hr), "interviewers", "20 items")
    refused(gw.client.post("/v1/applications", json={
        "requisition_id": "req_x", "source": "web", "answers": {f"q{n}": True for n in range(21)},
        "candidate": {"name": "n", "email": "n@example.com", "years_experience": 1}}, headers=hr),
        "answers", "20 items")
    assert gw.fake.calls == []


def test_a_body_that_is_not_a_json_object_is_refused_naming_the_body(gw, hr):
    # found by the API fuzz test: 400 "error" for a body that is not UTF-8, and 422s whose `field` was a
    # character position ("18") or missing
    json_type = {**hr, "Content-Type": "application/json"}
    post = gw.client.post
    refused(post("/v1/requisitions", content=b"\x80\x81 not utf-8", headers=json_type), "body", "UTF-8")
    refused(post("/v1/requisitions", content=b'{"title": "x"', headers=json_type), "body", "not valid JSON")
    refused(post("/v1/requisitions", headers=hr), "body", "JSON object")
    refused(post("/v1/requisitions", content=b"[1, 2]", headers=json_type), "body", "JSON object")
    refused(post("/v1/requisitions", content=b"title=x", headers={**hr, "Content-Type": "text/plain"}), "body",
            "Content-Type: application/json")
    refused(post("/v1/requisitions", json={**REQUISITION, "min_years": False}, headers=hr), "min_years", "number")
    assert gw.fake.calls == []
