"""Search in sourcing's shell against a real MongoDB (issue 20): candidates by a name's beginning, an exact email
or phone (blind indexes), a skill; applications across requisitions with filters, sorts and cursors; only the
caller's divisions; every term literal."""

import pytest

from services.sourcing.tests.test_service import ADMIN, HR, OTHER_HR, RECRUITER, REQ, application, as_
from services.sourcing.tests.test_service import svc as _svc
from shared.contracts.caller import Caller
from shared.errors import Forbidden, Invalid

svc = _svc  # the shell on a real store, divisions registered
INTERVIEWER = Caller(key_id="k9", name="ivy", role="interviewer", divisions=("retail",))


@pytest.fixture
def people(svc):
    retail = as_(svc, HR).create_requisition(**REQ)
    night = svc.create_requisition(**{**REQ, "title": "Night shift"})
    truck = as_(svc, OTHER_HR).create_requisition(**{**REQ, "division": "logistics", "title": "Driver"})
    rec = as_(svc, RECRUITER)
    apps = {
        "ann": rec.submit_application(**application(retail["id"], "Ann.Lee@Example.com", answers={"permit": True},
                                                    candidate={"name": "Ann  Lee", "phone": "+44 20 7946-0321",
                                                               "skills": ["Coffee", "Latte Art"]})),
        "anna": rec.submit_application(**application(night["id"], "anna@example.com", answers={"permit": True},
                                                     candidate={"name": "Anna K. (Temp)", "skills": ["Tea"]},
                                                     source="careers")),
        "bob": rec.submit_application(**application(night["id"], "bob@example.com", answers={"permit": True},
                                                    candidate={"name": "Bob Annson", "skills": ["coffee"]})),
    }
    # the same Ann applies in logistics too: that division's own record of her
    apps["ann_logistics"] = as_(svc, ADMIN).submit_application(**application(
        truck["id"], "ann.lee@example.com", answers={"permit": True},
        candidate={"name": "Annie Lee", "skills": ["Driving"]}))
    return {"retail": retail, "night": night, "truck": truck, "apps": apps}


def found(svc, caller, q, **kw):
    return [(h["name"], h["division"], h["matched"]) for h in as_(svc, caller).search_candidates(q=q, **kw)["items"]]


def test_candidates_by_name_prefix_email_phone_and_skill_in_the_callers_divisions(svc, people):
    ann = people["apps"]["ann"]["candidate_id"]
    assert found(svc, HR, "an") == [("Ann  Lee", "retail", "name"), ("Anna K. (Temp)", "retail", "name")]
    assert found(svc, HR, "ANN  l") == [("Ann  Lee", "retail", "name")]  # any case, spaces collapsed
    assert found(svc, HR, "lee") == []  # a prefix of the name, not a word inside it
    assert found(svc, HR, " ann.lee@EXAMPLE.com ") == [("Ann  Lee", "retail", "email")]
    assert found(svc, HR, "ann.lee@example.co") == []  # exact, not a prefix
    assert found(svc, HR, "+44 (20) 7946 0321") == [("Ann  Lee", "retail", "phone")]  # digits compared
    assert found(svc, HR, "7946") == []  # exact, not part of a number
    assert found(svc, HR, "COFFEE") == [("Ann  Lee", "retail", "skill"), ("Bob Annson", "retail", "skill")]
    [hit] = as_(svc, HR).search_candidates(q="ann.lee@example.com")["items"]
    assert hit == {"id": ann, "division": "retail", "name": "Ann  Lee", "email": "Ann.Lee@example.com",
                   "phone": "+44 20 7946-0321", "skills": ["Coffee", "Latte Art"], "matched": "email"}

    # another division's HR finds that division's record only; admin both (one hit per division's record)
    assert found(svc, OTHER_HR, "ann") == [("Annie Lee", "logistics", "name")]
    assert found(svc, OTHER_HR, "bob@example.com") == [] and found(svc, OTHER_HR, "coffee") == []
    assert sorted(found(svc, ADMIN, "ann.lee@example.com")) == [("Ann  Lee", "retail", "email"),
                                                                 ("Annie Lee", "logistics", "email")]
    with pytest.raises(Forbidden):
        as_(svc, INTERVIEWER).search_candidates(q="ann")


def test_search_terms_are_literal(svc, people):
    # regex characters are the characters: "anna k. (" is a prefix of one name, ".*" and "a.n" of none
    assert found(svc, HR, "Anna K. (") == [("Anna K. (Temp)", "retail", "name")]
    for pattern in (".*", "a.n", "^", "(", "[a-z]", "\\w", "$where"):
        assert found(svc, HR, pattern) == [], pattern
    with pytest.raises(Invalid) as exc:
        as_(svc, HR).search_candidates(q="   ")
    assert exc.value.field == "q"


def test_candidates_are_paged(svc, people):
    first = as_(svc, ADMIN).search_candidates(q="ann", limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = svc.search_candidates(q="ann", limit=2, cursor=first["next_cursor"])
    names = [h["name"] for h in first["items"] + rest["items"]]
    assert sorted(names) == ["Ann  Lee", "Anna K. (Temp)", "Annie Lee"] and rest["next_cursor"] is None


def ids(page):
    return [a["id"] for a in page["items"]]


def test_applications_filtered_sorted_and_paged_over_the_callers_divisions(svc, people):
    apps = {k: v["id"] for k, v in people["apps"].items()}
    hr = as_(svc, HR)
    # newest first by default; retail's only for retail's HR
    assert ids(hr.search_applications()) == [apps["bob"], apps["anna"], apps["ann"]]
    assert ids(hr.search_applications(sort="created_at")) == [apps["ann"], apps["anna"], apps["bob"]]
    assert ids(hr.search_applications(q="ann")) == [apps["anna"], apps["ann"]]
    assert ids(hr.search_applications(q="coffee", requisition_id=people["night"]["id"])) == [apps["bob"]]
    assert ids(hr.search_applications(source="careers")) == [apps["anna"]]
    assert ids(hr.search_applications(status="received")) == [apps["bob"], apps["anna"], apps["ann"]]
    assert ids(hr.search_applications(status="hired")) == [] and ids(hr.search_applications(q="nobody")) == []
    assert hr.search_applications(q="ann.lee@example.com")["items"][0]["candidate_name"] == "Ann  Lee"
    # another division's requisition named as a filter: nothing of it
    assert ids(hr.search_applications(requisition_id=people["truck"]["id"])) == []
    assert ids(as_(svc, OTHER_HR).search_applications(q="ann")) == [apps["ann_logistics"]]

    # a change moves an application up the "last changed" order
    svc.store.db.applications.update_one({"_id": apps["ann"]}, {"$set": {"updated_at": svc.store.db.applications.
                                          find_one({"_id": apps["bob"]})["updated_at"].replace(year=2100)}})
    assert ids(as_(svc, HR).search_applications(sort="-updated_at"))[0] == apps["ann"]
    assert ids(svc.search_applications(sort="updated_at"))[-1] == apps["ann"]

    # cursor paging in either direction returns each once, in order
    for sort in ("-created_at", "created_at", "-updated_at", "updated_at"):
        whole, seen, cursor = ids(as_(svc, ADMIN).search_applications(sort=sort)), [], None
        while True:
            page = svc.search_applications(sort=sort, limit=1, cursor=cursor)
            seen += ids(page)
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == whole and len(whole) == 4, sort
    with pytest.raises(Invalid) as exc:
        svc.search_applications(cursor="bm90LWEtY3Vyc29y")  # "not-a-cursor"
    assert exc.value.field == "cursor"
    with pytest.raises(Invalid) as exc:
        svc.search_applications(sort="name")
    assert exc.value.field == "sort"


def test_profiles_from_before_search_are_found_by_name_after_start_up(svc, people):
    svc.store.db.candidate_profiles.update_many({}, {"$unset": {"name_key": ""}})
    assert found(svc, HR, "ann") == []
    svc.store.backfill_search_keys()
    assert found(svc, HR, "ann") == [("Ann  Lee", "retail", "name"), ("Anna K. (Temp)", "retail", "name")]
