"""Notes on applications (issue 20) against a real MongoDB: staff of the application's division write and read
them; mentions (resolved by the gateway) go out in `note_added` with their addresses sealed; a user's inbox lists
the notes that mention them; export and erasure cover notes."""

import pytest
from nameko.testing.services import worker_factory

from services.sourcing.service import SourcingService
from services.sourcing.store import SourcingStore
from services.sourcing.tests.test_service import (
    ADMIN,
    HR,
    INTERVIEWER,
    OTHER_HR,
    RECRUITER,
    REQ,
    application,
    as_,
    sent,
)
from shared.config import Settings
from shared.crypto import open_sealed
from shared.errors import Forbidden, Invalid, NotFound
from tests.support.divisions import register
from tests.support.shell import InProcessBus

ROSA = {"user_id": "usr_rosa", "name": "Rosa", "email": "rosa@example.com", "locale": "zh-CN"}


@pytest.fixture
def svc(make_store):
    store = register(make_store(SourcingStore))
    return worker_factory(SourcingService, store=store, bus=InProcessBus(store, HR), settings=Settings())


@pytest.fixture
def app(svc):
    req = as_(svc, ADMIN).create_requisition(**REQ)
    return as_(svc, RECRUITER).submit_application(**application(req["id"]))


def test_a_note_is_stored_sealed_and_its_mentions_announced(svc, app):
    note = as_(svc, RECRUITER).add_note(application_id=app["id"], body="  Call @rosa@example.com  ",
                                        mentions=[ROSA, ROSA])
    assert (note["author"], note["body"], note["mentions"], note["division"]) == (
        "rita", "Call @rosa@example.com", ["usr_rosa"], "retail")
    stored = svc.store.db.notes.find_one({"_id": note["id"]})
    assert stored["body"] != note["body"] and open_sealed(stored["body"]) == note["body"]  # sealed at rest
    [event] = sent(svc, "note_added")
    assert (event["note_id"], event["application_id"], event["division"], event["author"]) == (
        note["id"], app["id"], "retail", "rita")
    [who] = event["mentions"]
    assert who["user_id"] == "usr_rosa" and who["locale"] == "zh-CN"
    assert who["email"] != "rosa@example.com" and open_sealed(who["email"]) == "rosa@example.com"
    assert "body" not in event  # the note's words stay in sourcing

    plain = as_(svc, HR).add_note(application_id=app["id"], body="no mentions")
    assert plain["mentions"] == [] and len(sent(svc, "note_added")) == 1  # nobody to tell: no event
    assert [n["id"] for n in as_(svc, RECRUITER).list_notes(application_id=app["id"])["items"]] == [
        note["id"], plain["id"]]


def test_notes_are_for_staff_of_the_division(svc, app):
    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).add_note(application_id=app["id"], body="hello")
    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).list_notes(application_id=app["id"])
    with pytest.raises(Forbidden):
        as_(svc, INTERVIEWER).list_notes(application_id=app["id"])
    with pytest.raises(Invalid) as exc:
        as_(svc, HR).add_note(application_id=app["id"], body="   ")
    assert exc.value.field == "body"
    assert svc.store.db.notes.count_documents({}) == 0 and sent(svc, "note_added") == []


def test_the_inbox_lists_notes_mentioning_the_user_newest_first_in_the_callers_divisions(svc, app):
    ids = [as_(svc, HR).add_note(application_id=app["id"], body=f"n{i}", mentions=[ROSA] if i != 1 else [])["id"]
           for i in range(4)]
    page = as_(svc, RECRUITER).mentioned_notes(user_id="usr_rosa", limit=2)
    assert [n["id"] for n in page["items"]] == [ids[3], ids[2]]
    rest = svc.mentioned_notes(user_id="usr_rosa", limit=2, cursor=page["next_cursor"])
    assert [n["id"] for n in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert as_(svc, OTHER_HR).mentioned_notes(user_id="usr_rosa")["items"] == []


def test_export_and_erasure_cover_notes(svc, app):
    note = as_(svc, HR).add_note(application_id=app["id"], body="strong candidate", mentions=[ROSA])
    exported = as_(svc, ADMIN).export_candidate(candidate_id=app["candidate_id"])
    assert [(n["id"], n["body"]) for n in exported["notes"]] == [(note["id"], "strong candidate")]
    erasure = svc.erase_candidate(candidate_id=app["candidate_id"])
    assert erasure["services"]["sourcing"]["counts"]["notes"] == 1
    assert svc.store.db.notes.count_documents({}) == 0
    with pytest.raises(NotFound):
        as_(svc, HR).add_note(application_id=app["id"], body="after")
