"""The board's reads and tags (issue 20) against a real MongoDB: pages of a requisition's applications filtered
by source, screening verdict and tag, in three orders with cursors; counts per status; tags added and removed
in bulk with their history, scoped to the caller's divisions."""

import pytest
from nameko.testing.services import worker_factory

from services.sourcing import domain
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
    deliver,
)
from shared.config import Settings
from shared.errors import Forbidden, Invalid, NotFound
from shared.timeutil import utcnow
from tests.support.divisions import register
from tests.support.shell import InProcessBus


@pytest.fixture
def svc(make_store):
    store = register(make_store(SourcingStore))  # the suites' divisions, as HIRELOOP_DIVISIONS at start-up
    return worker_factory(SourcingService, store=store, bus=InProcessBus(store, HR), settings=Settings())


def screen(svc, app_id, passed, match):
    deliver(svc, "screening", "application_screened", {
        "application_id": app_id, "requisition_id": "r", "division": "retail",
        "result": {"passed": passed, "score": match, "match": match, "matched_skills": [], "missing_skills": [],
                   "reasons": ["a reason"], "override": None}})


def every_page(svc, **args):
    page = svc.list_applications(limit=2, **args)
    got = [a["id"] for a in page["items"]]
    while page["next_cursor"]:
        page = svc.list_applications(limit=2, cursor=page["next_cursor"], **args)
        got += [a["id"] for a in page["items"]]
    return got


@pytest.fixture
def board(svc):
    """Seven applications: five screened with matches 40, 90, 40, 70, 10 (the 10 screened out), two not yet."""
    req = as_(svc, ADMIN).create_requisition(**REQ)
    ids = [svc.submit_application(**application(req["id"], f"c{i}@example.com",
                                                source="careers" if i % 2 else "referral"))["id"] for i in range(7)]
    for app_id, match in zip(ids, (40, 90, 40, 70, 10), strict=False):
        screen(svc, app_id, match > 20, match)
    return req["id"], ids


def test_pages_in_each_order_with_cursors(svc, board):
    req_id, ids = board
    assert every_page(svc, requisition_id=req_id) == ids
    assert every_page(svc, requisition_id=req_id, sort="newest") == ids[::-1]
    # best match first, ties newest first, the not yet screened last (newest first)
    assert every_page(svc, requisition_id=req_id, sort="match") == [ids[1], ids[3], ids[2], ids[0], ids[4],
                                                                       ids[6], ids[5]]
    with pytest.raises(Invalid) as exc:
        svc.list_applications(requisition_id=req_id, sort="match", cursor="bm90LWEtY3Vyc29y")
    assert exc.value.field == "cursor"
    with pytest.raises(Invalid) as exc:
        svc.list_applications(requisition_id=req_id, sort="best")
    assert exc.value.field == "sort"


def test_filters_and_several_statuses(svc, board):
    req_id, ids = board
    assert every_page(svc, requisition_id=req_id, source="careers") == [ids[1], ids[3], ids[5]]
    assert every_page(svc, requisition_id=req_id, passed=True, sort="newest") == [ids[3], ids[2], ids[1], ids[0]]
    assert every_page(svc, requisition_id=req_id, passed=False) == [ids[4]]
    assert every_page(svc, requisition_id=req_id, statuses=["screened_out", "received"]) == [ids[4], ids[5], ids[6]]
    assert every_page(svc, requisition_id=req_id, statuses=["screened_out", "received"], status="received") == [
        ids[5], ids[6]]
    assert every_page(svc, requisition_id=req_id, status="shortlisted", source="referral") == [ids[0], ids[2]]


def test_tags_in_bulk_with_their_history_filters_and_counts(svc, board):
    req_id, ids = board
    done = as_(svc, RECRUITER).tag_applications(application_ids=[ids[0], ids[3], ids[0]], add=[" Night  Shift",
                                                                                                  "Bilingual"])
    assert done["items"] == [{"id": ids[0], "tags": ["night shift", "bilingual"]},
                             {"id": ids[3], "tags": ["night shift", "bilingual"]}]
    again = svc.tag_applications(application_ids=[ids[0]], add=["bilingual"])  # a retry changes nothing
    assert again["items"] == [{"id": ids[0], "tags": ["night shift", "bilingual"]}]
    as_(svc, HR).tag_applications(application_ids=[ids[3]], add=["keen"], remove=["night shift"])
    view = svc.get_application(application_id=ids[3])
    assert view["tags"] == ["bilingual", "keen"]
    assert [(e["by"], e["added"], e["removed"]) for e in view["tag_history"]] == [
        ("rita", ["night shift", "bilingual"], []), ("helen", ["keen"], ["night shift"])]
    assert view["tag_history"][0]["at"].endswith("Z")
    assert len(svc.get_application(application_id=ids[0])["tag_history"]) == 1
    assert every_page(svc, requisition_id=req_id, tag="Night Shift") == [ids[0]]
    assert every_page(svc, requisition_id=req_id, tag="bilingual", sort="match") == [ids[3], ids[0]]

    summary = svc.pipeline_summary(requisition_id=req_id)
    assert summary["total"] == 7 and summary["counts"] == {"shortlisted": 4, "screened_out": 1, "received": 2}
    assert summary["sources"] == ["careers", "referral"] and summary["tags"] == ["bilingual", "keen", "night shift"]
    assert svc.pipeline_summary(requisition_id=req_id, tag="bilingual", passed=True)["counts"] == {"shortlisted": 2}
    assert svc.pipeline_summary(requisition_id=req_id, source="careers")["total"] == 3


def test_tags_are_scoped_checked_and_all_or_nothing(svc, board):
    req_id, ids = board
    with pytest.raises(NotFound):  # one application of another division: nothing changes anywhere
        as_(svc, OTHER_HR).tag_applications(application_ids=[ids[0]], add=["x"])
    with pytest.raises(NotFound):
        as_(svc, HR).tag_applications(application_ids=[ids[1], "app_nope"], add=["x"])
    assert svc.get_application(application_id=ids[1])["tags"] == []
    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).pipeline_summary(requisition_id=req_id)
    with pytest.raises(Invalid) as exc:
        as_(svc, HR).tag_applications(application_ids=[ids[1]], add=["<b>"])
    assert exc.value.field.startswith("add")
    with pytest.raises(Invalid) as exc:
        svc.tag_applications(application_ids=[ids[1]], add=["a"], remove=["A "])
    assert exc.value.field == "remove"
    with pytest.raises(Invalid) as exc:
        svc.tag_applications(application_ids=[ids[1]])
    assert exc.value.field == "add"
    svc.tag_applications(application_ids=[ids[1]], add=[f"t{i}" for i in range(20)])
    with pytest.raises(Invalid) as exc:
        svc.tag_applications(application_ids=[ids[1]], add=["one more"])
    assert exc.value.field == "add"
    with pytest.raises(Forbidden):  # interviewers do not label applications
        as_(svc, INTERVIEWER).tag_applications(application_ids=[ids[1]], add=["x"])


def test_retag_keeps_order_and_says_when_nothing_changed():
    now = utcnow()
    tags, entry = domain.retag(["a", "b"], ["c", "a"], ["b", "z"], "rita", now)
    assert tags == ["a", "c"] and entry == {"at": now, "by": "rita", "added": ["c"], "removed": ["b"]}
    assert domain.retag(["a"], ["a"], ["z"], "rita", now) == (["a"], None)
