"""Search through the gateway (issue 20), in process against a fake of sourcing at the typed seam: the query
parameters reach SearchCandidates / SearchApplications as declared (bad ones 422 naming the field, nothing sent),
roles, personal-data reads audited, and the console's header search box with its results page."""

from __future__ import annotations

import re

import pytest

from gateway.testing import sample
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import interview_feedback, sourcing

pytestmark = pytest.mark.integration

HIT = {"id": "cand_ann", "division": "retail", "name": "Ann <Lee>", "email": "ann@example.com",
       "phone": "+44 20 7946 0321", "skills": ["coffee"], "matched": "email"}
APP = {**sample(sourcing.Application, {"id": "app_ann", "candidate_id": "cand_ann", "division": "retail"}),
       "requisition_title": "Barista", "candidate_name": "Ann <Lee>", "source": "careers", "status": "shortlisted"}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "search") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer(sourcing.SearchCandidates, {"items": [HIT], "next_cursor": "bmV4dA"})
    gateway.fake.answer(sourcing.SearchApplications, {"items": [APP], "next_cursor": None})
    yield gateway
    gateway.client.cookies.clear()


def error(response) -> dict:
    return response.json()["error"]


def test_candidate_search_passes_the_term_as_is_and_audits_the_read(gw):
    hr = gw.as_("hr")
    found = gw.client.get("/v1/candidates", params={"q": " Ann.*(Lee ", "limit": 5, "cursor": "abc"}, headers=hr)
    assert found.status_code == 200, found.text
    assert found.json() == {"items": [HIT], "next_cursor": "bmV4dA"}
    [call] = gw.fake.calls_to(sourcing.SearchCandidates)
    # the term travels as typed (trimmed by the declaration): sourcing escapes it, never a pattern
    assert call.kwargs == {"q": "Ann.*(Lee", "limit": 5, "cursor": "abc"} and call.caller.role == "hr"
    records = gw.call(gw.app.state.gateway.audit.list, "cand_ann")["items"]
    assert (records[0]["action"], records[0]["division"]) == ("GET /v1/candidates", "retail")
    assert {"name", "email", "phone"} <= set(records[0]["fields"])


def test_application_search_takes_its_filters_and_sort(gw):
    rec = gw.as_("recruiter")
    found = gw.client.get("/v1/applications", params={"q": "ann", "status": "shortlisted", "requisition_id": "req_1",
                                                      "source": "careers", "sort": "-updated_at"}, headers=rec)
    assert found.status_code == 200 and found.json()["items"][0]["id"] == "app_ann", found.text
    [call] = gw.fake.calls_to(sourcing.SearchApplications)
    assert call.kwargs == {"q": "ann", "status": "shortlisted", "requisition_id": "req_1", "source": "careers",
                           "sort": "-updated_at", "limit": 50, "cursor": None}
    assert gw.client.get("/v1/applications", headers=rec).status_code == 200  # every filter optional
    assert gw.fake.calls_to(sourcing.SearchApplications)[-1].kwargs["sort"] == "-created_at"


@pytest.mark.parametrize("path, params, field", [
    ("/v1/candidates", {}, "q"),
    ("/v1/candidates", {"q": ""}, "q"),
    ("/v1/candidates", {"q": "x" * 101}, "q"),
    ("/v1/candidates", {"q": "   "}, "q"),
    ("/v1/applications", {"sort": "name"}, "sort"),
    ("/v1/applications", {"status": "nearly_hired"}, "status"),
    ("/v1/applications", {"limit": 501}, "limit"),
])
def test_bad_search_parameters_are_422_naming_them_and_nothing_is_asked(gw, path, params, field):
    refused = gw.client.get(path, params=params, headers=gw.as_("hr"))
    assert refused.status_code == 422 and error(refused)["field"] == field, refused.text
    assert gw.fake.calls == []


def test_interviewers_search_no_one(gw):
    for path in ("/v1/candidates?q=ann", "/v1/applications"):
        assert gw.client.get(path, headers=gw.as_("interviewer")).status_code == 403
    assert gw.fake.calls == []


def sign_in(gw, role: str) -> None:
    client = gw.client
    client.cookies.clear()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text).group(1)
    done = client.post("/console/login", data={"csrf": token, "api_key": gw.key(role)[1], "next": ""})
    assert done.status_code == 303, done.text


def test_the_console_header_search_box_leads_to_the_results(gw):
    sign_in(gw, "hr")
    gw.fake.answer(sourcing.ListRequisitions, {"items": [], "next_cursor": None})
    home = gw.client.get("/console/requisitions")
    box = re.search(r'<form class="search" role="search" method="get" action="/console/search">(.*?)</form>',
                    home.text, re.S)
    assert box and 'name="q"' in box.group(1) and "Search candidates and applications" in box.group(1)

    page = gw.client.get("/console/search", params={"q": "ann@example.com"})
    assert page.status_code == 200, page.text
    assert "Ann &lt;Lee&gt;" in page.text and "<Lee>" not in page.text  # escaped
    assert 'href="/console/applications/app_ann"' in page.text and "+44 20 7946 0321" in page.text
    assert 'value="ann@example.com"' in page.text  # the box keeps the term
    assert "/console/search?q=ann%40example.com&amp;cursor=bmV4dA" in page.text  # more candidates
    assert gw.fake.calls_to(sourcing.SearchCandidates)[-1].kwargs["q"] == "ann@example.com"
    assert gw.fake.calls_to(sourcing.SearchApplications)[-1].kwargs["q"] == "ann@example.com"
    assert gw.client.get("/console/search", params={"q": " "}).status_code == 303  # nothing to search

    sign_in(gw, "interviewer")
    gw.fake.answer(interview_feedback.ListInterviews, {"items": [], "next_cursor": None})
    mine = gw.client.get("/console/interviews")
    assert mine.status_code == 200 and 'class="search"' not in mine.text
