"""The pipeline board of issue 20, in process against fakes of the services: one page of cards per column (never
the whole requisition), filters and the order passed to the API, "Show more" for one column, bulk tags, rejections
and moves after a confirmation page; and the API routes under it (the filtered list, the pipeline summary, tags in
bulk) with their 422s naming the field."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.console import board
from gateway.testing import sample
from gateway.tests.inprocess import gateway_settings, holding, namespace_of, running
from shared.contracts import interview_feedback, screening, sourcing
from shared.errors import Conflict

DIVISION = "console-board"
HELD = {"requisition_id": "req_b", "application_id": "app_b", "candidate_id": "cand_b", "interview_id": "int_b",
        "division": DIVISION}
SUMMARY = {"requisition_id": "req_b", "total": 7, "counts": {"received": 1, "shortlisted": 3, "rejected": 2,
                                                              "withdrawn": 1},
           "sources": ["careers", "referral"], "tags": ["bilingual", "night shift"]}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "console-board") as namespace, \
            running(gateway_settings(data_infra, namespace), holding(HELD)) as gw:
        yield gw


def sign_in(gw, role: str) -> str:
    client = gw.client
    client.cookies.clear()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text).group(1)
    done = client.post("/console/login", data={"csrf": token, "api_key": gw.key(role, (DIVISION,))[1], "next": ""})
    assert done.status_code == 303, done.text
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/console/requisitions").text).group(1)


def card(app_id: str, status: str, name: str, **more) -> dict:
    return sourcing.Application.model_validate(
        {**sample(sourcing.Application, HELD), "id": app_id, "status": status, "candidate_name": name, **more}
    ).model_dump(mode="json")


def listing(call):
    """Answers a column's page: one card per status asked, and a next page for the shortlisted column."""
    kw = call.kwargs
    statuses = kw["statuses"] if kw.get("statuses") else [kw["status"]]
    items = [card(f"app_{s}", s, f"Person {s}", tags=["bilingual"] if s == "shortlisted" else []) for s in statuses]
    if kw.get("cursor"):
        items = [card("app_later", statuses[0], "Later Person")]
    more = "c_next" if statuses == ["shortlisted"] and not kw.get("cursor") else None
    return {"items": items, "next_cursor": more}


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer_declared(HELD)
    gateway.fake.answer(sourcing.ListApplications, listing)
    gateway.fake.answer(sourcing.PipelineSummary, SUMMARY)
    yield gateway
    gateway.client.cookies.clear()


def test_the_board_asks_one_page_per_column_with_the_filters_and_shows_counts_tags_and_more(gw):
    sign_in(gw, "recruiter")
    page = gw.client.get("/console/requisitions/req_b/board?source=careers&passed=true&tag=bilingual&sort=match")
    assert page.status_code == 200, page.text
    calls = gw.fake.calls_to(sourcing.ListApplications)
    assert len(calls) == len(board.COLUMNS) == 9  # one page per column, not every application
    for call in calls:
        assert call.kwargs["limit"] == board.PER_COLUMN and call.kwargs.get("cursor") is None
        assert (call.kwargs["source"], call.kwargs["passed"], call.kwargs["tag"], call.kwargs["sort"]) == (
            "careers", True, "bilingual", "match")
    asked = sorted(tuple(c.kwargs["statuses"]) if c.kwargs.get("statuses") else (c.kwargs["status"],)
                   for c in calls)
    assert ("screened_out", "rejected", "declined", "no_show", "withdrawn") in asked
    (summary,) = gw.fake.calls_to(sourcing.PipelineSummary)
    assert summary.kwargs == {"requisition_id": "req_b", "source": "careers", "passed": True, "tag": "bilingual"}

    html = page.text
    for status in board.COLUMNS:
        assert f'id="col-{status}"' in html
    assert re.search(r'id="col-shortlisted">shortlisted <span class="count" data-count>3</span>', html)
    assert re.search(r'id="col-ended">ended <span class="count" data-count>3</span>', html)  # rejected + withdrawn
    assert '<li class="badge tag">bilingual</li>' in html
    assert '<option value="careers" selected>careers</option>' in html
    assert '<option value="match" selected>Best match first</option>' in html
    assert 'aria-label="Select Person shortlisted"' in html and 'form="bulk"' in html
    # the live refresh keeps the view's filters; "Show more" for the one column that has more
    assert 'data-fragment="/console/requisitions/req_b/board?source=careers&amp;tag=bilingual&amp;passed=true&amp;' \
           'sort=match&amp;fragment=1"' in html
    more = re.findall(r'data-more="([^"]+)"', html)
    assert len(more) == 1 and "column=shortlisted" in more[0] and "cursor=c_next" in more[0]


def test_show_more_fetches_one_column_from_its_cursor(gw):
    sign_in(gw, "recruiter")
    link = "/console/requisitions/req_b/board?sort=newest&fragment=cards&column=shortlisted&cursor=c_next"
    part = gw.client.get(link)
    assert part.status_code == 200
    (call,) = gw.fake.calls_to(sourcing.ListApplications)
    assert call.kwargs["cursor"] == "c_next" and call.kwargs["status"] == "shortlisted"
    assert call.kwargs["sort"] == "newest"
    assert "Later Person" in part.text and "<html" not in part.text and "Back to the first cards" not in part.text
    # without script: the whole board, that column from the cursor, with a way back
    gw.fake.reset()
    gw.fake.answer_declared(HELD)
    gw.fake.answer(sourcing.ListApplications, listing)
    gw.fake.answer(sourcing.PipelineSummary, SUMMARY)
    whole = gw.client.get("/console/requisitions/req_b/board?column=shortlisted&cursor=c_next").text
    assert "Later Person" in whole and "Back to the first cards" in whole and "Person received" in whole


def bulk(gw, csrf, **form):
    return gw.client.post("/console/requisitions/req_b/board/bulk",
                          data={"csrf": csrf, "view": "sort=match&tag=bilingual", **form})


def test_a_bulk_tag_is_confirmed_first_then_sent_once_for_all(gw):
    csrf = sign_in(gw, "recruiter")
    gw.fake.answer(sourcing.TagApplications, lambda call: {
        "items": [{"id": i, "tags": call.kwargs["add"]} for i in call.kwargs["application_ids"]]})
    review = bulk(gw, csrf, action="tag", tag="Night Shift", application=["app_1", "app_2", "app_1"])
    assert review.status_code == 200, review.text
    assert "Confirm: Add the tag “Night Shift” to 2 of 2 selected applications" in review.text
    assert gw.fake.calls_to(sourcing.TagApplications) == []  # nothing before the confirmation
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', review.text))
    assert form["confirm"] == "1" and form["action"] == "tag" and form["view"] == "tag=bilingual&amp;sort=match"
    done = bulk(gw, csrf, confirm="1", nonce=form["nonce"], action="tag", tag="Night Shift",
                application=["app_1", "app_2"])
    assert done.status_code == 303
    target = urlsplit(done.headers["location"])
    assert target.path == "/console/requisitions/req_b/board"
    assert parse_qs(target.query) == {"sort": ["match"], "tag": ["bilingual"]}  # back to the same view
    (call,) = gw.fake.calls_to(sourcing.TagApplications)
    assert call.kwargs == {"application_ids": ["app_1", "app_2"], "add": ["night shift"], "remove": []}
    assert call.caller.role == "recruiter"
    assert "Done for 2 of 2 applications." in gw.client.get(done.headers["location"]).text


def test_bad_bulk_input_names_the_field_and_changes_nothing(gw):
    csrf = sign_in(gw, "recruiter")
    for form, field in [({"action": "tag", "tag": "x"}, "application"),
                        ({"action": "tag", "application": "app_1"}, "tag"),
                        ({"action": "reject", "application": "app_1"}, "reason"),
                        ({"action": "move", "application": "app_1", "reason": "r"}, "move_to"),
                        ({"action": "explode", "application": "app_1"}, "action"),
                        ({"action": "tag", "tag": "<b>", "application": "app_1", "confirm": "1"}, "add")]:
        done = bulk(gw, csrf, **form)
        assert done.status_code == 303, (form, done.text)
        shown = gw.client.get(done.headers["location"]).text
        assert re.search(rf"Not done\. {field}", shown), (form, shown[shown.find("flash"):][:300])
    assert gw.fake.calls_to(sourcing.TagApplications) == []
    # a form from elsewhere: refused before anything
    assert bulk(gw, "forged", action="tag", tag="x", application="app_1").status_code == 403


def test_a_bulk_rejection_uses_each_stages_way_after_a_confirmation(gw):
    csrf = sign_in(gw, "hr")
    statuses = {"app_s": "shortlisted", "app_i": "interviewed", "app_o": "offered"}
    gw.fake.answer(sourcing.GetApplication, lambda call: card(call.kwargs["application_id"],
                                                              statuses[call.kwargs["application_id"]],
                                                              f"Name {call.kwargs['application_id']}"))
    gw.fake.answer(screening.Override, lambda call: sample(screening.Override.returns, HELD))

    def decided(call):
        if call.kwargs["application_id"] == "app_i":
            return sample(interview_feedback.Decide.returns, HELD)
        raise Conflict("no")
    gw.fake.answer(interview_feedback.Decide, decided)
    review = bulk(gw, csrf, action="reject", reason="not the fit", application=list(statuses))
    assert review.status_code == 200, review.text
    html = review.text
    assert "Confirm: Reject 2 of 3 selected applications" in html
    rows = dict(re.findall(r'<tr data-application="(\w+)" class="(\w+)">', html))
    assert rows == {"app_s": "doable", "app_i": "doable", "app_o": "skipped"}
    assert "screening-stage rejection email" in html and "rejection email after interviews" in html
    assert "left as it is: already offered" in html
    assert gw.fake.calls_to(screening.Override) == [] and gw.fake.calls_to(interview_feedback.Decide) == []

    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    done = bulk(gw, csrf, confirm="1", nonce=nonce, action="reject", reason="not the fit", application=list(statuses))
    assert done.status_code == 303
    (override,) = gw.fake.calls_to(screening.Override)
    assert override.kwargs == {"application_id": "app_s", "passed": False, "reason": "not the fit"}
    (decision,) = gw.fake.calls_to(interview_feedback.Decide)
    assert decision.kwargs["application_id"] == "app_i" and decision.kwargs["outcome"] == "fail"
    assert decision.kwargs["note"] == "not the fit"  # the API takes `reason` as the note of a fail
    text = gw.client.get(done.headers["location"]).text
    assert "Done for 2 of 3 applications. 1 left as they were" in text


def test_the_api_under_the_board_passes_filters_and_names_bad_ones(gw):
    _, key = gw.key("recruiter", (DIVISION,))
    auth = {"Authorization": f"Bearer {key}"}
    ok = gw.client.get("/v1/requisitions/req_b/applications", headers=auth, params={
        "statuses": "rejected, withdrawn", "sort": "newest", "passed": "false", "source": "careers", "limit": 5})
    assert ok.status_code == 200, ok.text
    (call,) = gw.fake.calls_to(sourcing.ListApplications)
    assert call.kwargs["statuses"] == ["rejected", "withdrawn"] and call.kwargs["sort"] == "newest"
    assert call.kwargs["passed"] is False and call.kwargs["limit"] == 5
    for params, field in [({"sort": "best"}, "sort"), ({"statuses": "rejected,nope"}, "statuses"),
                          ({"passed": "maybe"}, "passed")]:
        bad = gw.client.get("/v1/requisitions/req_b/applications", headers=auth, params=params)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["error"]["field"].startswith(field), bad.json()
    assert len(gw.fake.calls_to(sourcing.ListApplications)) == 1

    summary = gw.client.get("/v1/requisitions/req_b/pipeline", headers=auth, params={"tag": "Bilingual"})
    assert summary.status_code == 200 and summary.json()["counts"]["shortlisted"] == 3
    assert gw.fake.calls_to(sourcing.PipelineSummary)[0].kwargs["tag"] == "bilingual"

    gw.fake.answer(sourcing.TagApplications, {"items": [{"id": "app_b", "tags": ["keen"]}]})
    tagged = gw.client.post("/v1/applications/tags", headers=auth, json={"application_ids": ["app_b"], "add": ["Keen"]})
    assert tagged.status_code == 200 and tagged.json() == {"items": [{"id": "app_b", "tags": ["keen"]}]}
    for body, field in [({"application_ids": [], "add": ["x"]}, "application_ids"),
                        ({"application_ids": ["app_b"]}, "add"),
                        ({"application_ids": ["app_b"], "add": ["a"], "remove": ["A"]}, "remove"),
                        ({"application_ids": ["app_b"], "add": ["x" * 41]}, "add"),
                        ({"application_ids": ["app_b"], "add": ["x"], "colour": "red"}, "colour")]:
        bad = gw.client.post("/v1/applications/tags", headers=auth, json=body)
        assert bad.status_code == 422, (body, bad.text)
        assert bad.json()["error"]["field"].startswith(field), bad.json()
    assert len(gw.fake.calls_to(sourcing.TagApplications)) == 1  # nothing sent for the bad ones
    _, interviewer = gw.key("interviewer", (DIVISION,))
    refused = gw.client.post("/v1/applications/tags", headers={"Authorization": f"Bearer {interviewer}"},
                             json={"application_ids": ["app_b"], "add": ["x"]})
    assert refused.status_code == 403
