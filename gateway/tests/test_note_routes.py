"""Notes through the gateway (issue 20), in process against a fake of sourcing at the typed seam: mentions
resolved against the gateway's users (only active users of the application's division reach sourcing), a bad
body a 422 naming `body` with nothing sent, reads of notes audited."""

from __future__ import annotations

from functools import partial

import pytest

from gateway.notes import mentioned
from gateway.testing import sample
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared.contracts import sourcing

pytestmark = pytest.mark.integration

APP = sample(sourcing.Application, {"id": "app_1", "candidate_id": "cand_1", "division": "retail"})


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "notes") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer(sourcing.GetApplication, APP)
    yield gateway


def user(gw, email, role="recruiter", divisions=("retail",), locale="en"):
    store = gw.app.state.gateway.users
    return gw.call(partial(store.create, email=email, name=email.split("@")[0], role=role, divisions=list(divisions),
                           locale=locale, timezone="UTC", created_by="test"))


def note_answer(call):
    return {"id": "note_1", "application_id": call.kwargs["application_id"], "candidate_id": "cand_1",
            "division": "retail", "author": call.caller.name, "body": call.kwargs["body"],
            "mentions": [m["user_id"] for m in call.kwargs["mentions"]], "created_at": "2026-01-01T00:00:00Z"}


def test_mentions_of_users_of_the_division_reach_sourcing_others_do_not(gw):
    rosa = user(gw, "rosa.n@example.com", locale="zh-CN")
    lars = user(gw, "lars@example.com", divisions=("logistics",))
    gone = user(gw, "gone@example.com")
    gw.call(gw.app.state.gateway.users.deactivate, gone["_id"])
    gw.fake.answer(sourcing.AddNote, note_answer)
    text = (f"Ask @Rosa.N@Example.com and @{rosa['_id']} (once), @lars@example.com, @gone@example.com, "
            f"@nobody@example.com, mail@rosa.n@example.com")
    made = gw.client.post("/v1/applications/app_1/notes", json={"body": text}, headers=gw.as_("recruiter"))
    assert made.status_code == 201, made.text
    assert made.json()["mentions"] == [rosa["_id"]] and made.json()["body"] == text
    [call] = gw.fake.calls_to(sourcing.AddNote)
    assert call.kwargs["mentions"] == [{"user_id": rosa["_id"], "name": "rosa.n", "email": "rosa.n@example.com",
                                        "locale": "zh-CN"}]
    assert lars["_id"] not in str(call.kwargs)


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "   "}, {"body": "x" * 5001}, {"body": 3},
                                  {"body": "ok", "extra": 1}])
def test_a_bad_note_is_a_422_naming_the_field_and_nothing_is_sent(gw, body):
    made = gw.client.post("/v1/applications/app_1/notes", json=body, headers=gw.as_("hr"))
    assert made.status_code == 422, made.text
    assert made.json()["error"]["field"] in ("body", "extra")
    assert gw.fake.calls == []


def test_interviewers_may_not_write_or_read_notes(gw):
    interviewer = gw.as_("interviewer")
    assert gw.client.post("/v1/applications/app_1/notes", json={"body": "hi"}, headers=interviewer).status_code == 403
    assert gw.client.get("/v1/applications/app_1/notes", headers=interviewer).status_code == 403
    assert gw.fake.calls == []


def test_reading_notes_is_audited(gw):
    note = {"id": "note_9", "application_id": "app_1", "candidate_id": "cand_1", "division": "retail",
            "author": "rita", "body": "strong", "mentions": [], "created_at": "2026-01-01T00:00:00Z"}
    gw.fake.answer(sourcing.ListNotes, {"items": [note]})
    read = gw.client.get("/v1/applications/app_1/notes", headers=gw.as_("hr"))
    assert read.status_code == 200 and read.json() == {"items": [note]}
    records = gw.call(gw.app.state.gateway.audit.list, "cand_1")["items"]
    assert records[0]["action"] == "GET /v1/applications/{application_id}/notes"
    assert records[0]["fields"] == ["body"]


def test_mentions_are_an_at_sign_then_an_email_or_a_user_id():
    uid = "usr_" + "a" * 24
    assert mentioned(f"@A@B.io, @{uid}. @a@b.io me@c.io @usr_short @x") == ["a@b.io", uid]
