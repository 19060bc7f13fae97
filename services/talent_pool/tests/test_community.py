"""The talent community (issue 18): double opt-in sign-ups, members in the pool with reason `community`,
found by matches only in their divisions of interest, and leaving. Rules (domain.py) alone, then the shell
against a real MongoDB (tests/support/shell.py), as test_service.py does."""

from datetime import timedelta

import pytest

from services.talent_pool import domain
from services.talent_pool.pool_index import PoolIndex
from services.talent_pool.store import TalentPoolStore
from shared.contracts.caller import Caller
from shared.contracts.sourcing import SubmitFastTrackApplication
from shared.crypto import is_sealed, open_sealed
from shared.errors import NotFound
from shared.timeutil import utcnow
from tests.support.shell import FakeService

from .test_service import make_service, pool_candidate, requisition

SYSTEM = Caller.system("careers")
ANA = {"name": "Ana Lima", "email": "Ana@Example.org", "skills": ["Python", "SQL"], "divisions": ["logistics"],
       "consent": True, "locale": "zh-CN"}


# --- rules --------------------------------------------------------------------------------------------

def test_a_join_of_a_known_address_keeps_the_sign_up_and_waits_for_its_own_confirmation():
    now = utcnow()
    first = domain.join(None, domain.community_request(ANA, now), "mem_1", "sealed", "look", now)
    assert first["status"] == "pending" and first["skills"] == [] and first["request"]["skills"] == ["Python", "SQL"]
    member = domain.confirm(first, now)
    assert member["status"] == "member" and member["skills"] == ["Python", "SQL"] and member["request"] is None
    assert domain.confirm(member, now) is None  # posting the link again changes nothing
    # someone posts the member's address with other details: nothing changes until that is confirmed
    again = domain.join(member, domain.community_request({**ANA, "skills": ["Go"]}, now), "mem_2", "s2", "look", now)
    assert again["_id"] == "mem_1" and again["skills"] == ["Python", "SQL"] and again["requests"] == 2
    assert domain.confirm(again, now)["skills"] == ["Go"]


def test_a_stale_request_confirms_nothing():
    then = utcnow() - domain.CONFIRM_WITHIN - timedelta(minutes=1)
    pending = domain.join(None, domain.community_request(ANA, then), "mem_1", "s", "l", then)
    assert domain.confirm(pending, utcnow()) is None


def test_a_member_matches_only_the_divisions_named_and_says_there_was_no_interview():
    now = utcnow()
    member = domain.confirm(domain.join(None, domain.community_request(ANA, now), "mem_1", "s", "l", now), now)
    entry = domain.build_member_entry(member, now, 365)
    assert entry["reason"] == "community" and entry["prior"]["average"] is None
    logistics = {**requisition(rid="r1"), "_id": "r1"}
    retail = {**requisition(rid="r2", division="retail"), "_id": "r2"}
    [match] = domain.find_matches(logistics, [entry], now)
    assert match["pooled_reason"] == "community" and match["prior_average"] is None
    assert any("No prior interview" in r for r in match["reasons"])
    assert any("talent community" in r and "logistics" in r for r in match["reasons"])
    assert domain.find_matches(retail, [entry], now) == []
    anywhere = {**entry, "divisions": []}
    assert [m["candidate_id"] for m in domain.find_matches(retail, [anywhere], now)] == ["mem_1"]


def test_the_index_leaves_out_members_limited_to_other_divisions():
    now = utcnow()
    base = domain.build_member_entry({"_id": "mem_a", "name": "A", "skills": ["Python"], "divisions": ["logistics"]},
                                     now, 365)
    anywhere = domain.build_member_entry({"_id": "mem_b", "name": "B", "skills": ["Python"], "divisions": []}, now, 365)
    both = domain.build_member_entry({"_id": "mem_c", "name": "C", "skills": ["Python"],
                                      "divisions": ["retail", "logistics"]}, now, 365)
    index = PoolIndex()
    index.load([base, anywhere, both])
    assert sorted(index.best(requisition(division="logistics"), now)) == ["mem_a", "mem_b", "mem_c"]
    assert sorted(index.best(requisition(division="retail"), now)) == ["mem_b", "mem_c"]
    assert sorted(index.best(requisition(division="finance"), now)) == ["mem_b"]
    index.add({**base, "divisions": ["finance"]})  # confirmed again with another interest
    assert sorted(index.best(requisition(division="finance"), now)) == ["mem_a", "mem_b"]


# --- the shell ----------------------------------------------------------------------------------------

@pytest.fixture
def store(make_store):
    return make_store(TalentPoolStore)


@pytest.fixture
def svc(store):
    return make_service(store, caller=SYSTEM)


def join(svc, **changes):
    return svc.join_community(**{**ANA, **changes})


def signup_of(store, email="ana@example.org"):
    from shared.contracts.common import normalize_email
    from shared.crypto import lookup
    return store.signup_by_lookup(lookup(normalize_email(email)))


def test_double_opt_in_pools_the_member_only_once_confirmed(svc, store):
    answer = join(svc)
    assert answer == {"status": "pending"}
    signup = signup_of(store)
    assert signup["status"] == "pending" and is_sealed(signup["email"])
    assert open_sealed(signup["email"]) == "Ana@example.org" and "example.org" not in str(signup)
    [requested] = svc.bus.payloads("community_signup_requested")
    assert requested["candidate_id"] == signup["_id"] and is_sealed(requested["email"])
    assert requested["locale"] == "zh-CN"
    assert store.get_pool_entry(signup["_id"]) is None

    member = svc.confirm_community(signup_id=signup["_id"])
    assert member["status"] == "member" and member["in_pool"] and member["divisions"] == ["logistics"]
    entry = store.get_pool_entry(signup["_id"])
    assert entry["reason"] == "community" and entry["skills"] == ["Python", "SQL"]
    assert entry["retain_until"] - entry["pooled_at"] == timedelta(days=svc.settings.pool_retention_days)
    assert svc.confirm_community(signup_id=signup["_id"])["status"] == "member"  # again: the same
    assert len(store.poolings_of(signup["_id"])) == 1


def test_joining_again_resends_and_never_makes_a_second_sign_up(svc, store):
    join(svc)
    first = signup_of(store)
    svc.confirm_community(signup_id=first["_id"])
    # a member and a new address get the same answer
    assert join(svc, email="ANA@example.org ", skills=["Go"]) == join(svc, email="new@example.org")
    assert store.db.community.count_documents({}) == 2
    requests = [p for p in svc.bus.payloads("community_signup_requested") if p["candidate_id"] == first["_id"]]
    assert [p["request"] for p in requests] == [1, 2]
    assert store.get_pool_entry(first["_id"])["skills"] == ["Python", "SQL"]  # unchanged until confirmed
    svc.confirm_community(signup_id=first["_id"])
    assert store.get_pool_entry(first["_id"])["skills"] == ["Go"]


def test_matches_include_a_member_of_the_requisition_s_division(svc, store):
    join(svc)
    member_id = signup_of(store)["_id"]
    svc.confirm_community(signup_id=member_id)
    join(svc, email="li@example.org", name="Li", divisions=["retail"])
    svc.confirm_community(signup_id=signup_of(store, "li@example.org")["_id"])
    pool_candidate(svc, app_id="app_1", cand_id="c1", req=requisition(rid="req_old"))
    from .test_service import deliver
    deliver(svc, "requisition_opened", {"requisition": requisition(rid="req_new", urgent=True)})
    matches = svc.get_matches(requisition_id="req_new")
    ids = [m["candidate_id"] for m in matches]
    assert ids == ["c1", member_id]  # the interviewed candidate ranks first; the retail member is not there
    member = matches[1]
    assert member["pooled_reason"] == "community" and member["prior_average"] is None
    assert any("No prior interview" in r for r in member["reasons"])
    [surfaced] = svc.bus.payloads("matches_surfaced")
    assert member_id in surfaced["candidate_ids"]


def test_leaving_takes_the_member_out_at_once_and_keeps_no_personal_data(svc, store):
    join(svc)
    member_id = signup_of(store)["_id"]
    svc.confirm_community(signup_id=member_id)
    from .test_service import deliver
    deliver(svc, "requisition_opened", {"requisition": requisition(rid="req_new")})
    assert [m["candidate_id"] for m in store.get_matches("req_new")["items"]] == [member_id]

    answer = svc.leave_community(signup_id=member_id)
    assert answer["status"] == "left" and not answer["in_pool"] and answer["name"] == ""
    assert store.get_pool_entry(member_id) is None
    assert store.get_matches("req_new")["items"] == []
    stored = store.get_signup(member_id)
    assert "email" not in stored and "email_lookup" not in stored and stored["name"] == "" and stored["skills"] == []
    assert [p["candidate_id"] for p in svc.bus.payloads("community_member_left")] == [member_id]
    assert svc.leave_community(signup_id=member_id)["status"] == "left"  # twice: nothing more
    assert len(svc.bus.payloads("community_member_left")) == 1
    assert svc.confirm_community(signup_id=member_id)["status"] == "left"  # an old link brings nothing back
    assert store.get_pool_entry(member_id) is None
    join(svc)  # joining after leaving is a new sign-up
    assert signup_of(store)["_id"] != member_id


def test_an_unknown_sign_up_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.get_community_member(signup_id="mem_nope")
    with pytest.raises(NotFound):
        svc.confirm_community(signup_id="mem_nope")


def test_a_re_engaged_member_applies_with_their_details_and_their_candidate_s_erasure_covers_them(store):
    staff = make_service(store, caller=Caller(key_id="k1", name="alice", role="hr", divisions=("logistics",)))
    system = make_service(store, caller=SYSTEM)
    join(system)
    member_id = signup_of(store)["_id"]
    system.confirm_community(signup_id=member_id)
    from .test_service import deliver
    deliver(staff, "requisition_opened", {"requisition": requisition(rid="req_new")})
    reg = staff.reengage(requisition_id="req_new", candidate_id=member_id)
    # sourcing finds or makes the candidate of that email
    system.sourcing = FakeService("sourcing").answer(SubmitFastTrackApplication, lambda args: {
        "id": "app_9", "candidate_id": "cand_9", "status": "received"})
    answered = system.respond_reengagement(reengagement_id=reg["id"], response="accept")
    [args] = system.sourcing.calls_to(SubmitFastTrackApplication)
    assert args.candidate is not None and args.candidate.email == "Ana@example.org"
    assert args.candidate.name == "Ana Lima" and args.reuse_interview_from is None
    assert answered["application_id"] == "app_9"
    assert store.get_signup(member_id)["candidate_ids"] == ["cand_9"]
    # the candidate's erasure (its part in this service, without the broker's dead-letter purge)
    counts = store.transact(lambda uow: staff._erase_candidate(uow, "cand_9"))[0]
    assert counts["community_signups"] == 1
    assert store.get_signup(member_id)["status"] == "left" and "email" not in store.get_signup(member_id)


def test_a_sign_up_nobody_confirmed_is_forgotten_once_its_link_has_expired(svc, store):
    join(svc)
    stale = signup_of(store)
    join(svc, email="fresh@example.org", name="Fresh")
    join(svc, email="member@example.org", name="Member")
    member = signup_of(store, "member@example.org")
    svc.confirm_community(signup_id=member["_id"])
    expired = utcnow() - domain.CONFIRM_WITHIN - timedelta(hours=1)
    store.db.community.update_one({"_id": stale["_id"]}, {"$set": {"request.requested_at": expired}})
    store.db.community.update_one({"_id": member["_id"]}, {"$set": {"created_at": expired}})

    assert svc.forget_unconfirmed_signups() == 1
    forgotten = store.get_signup(stale["_id"])
    assert forgotten["status"] == "left" and "email" not in forgotten and forgotten["name"] == ""
    assert [p["candidate_id"] for p in svc.bus.payloads("community_member_left")] == [stale["_id"]]
    assert signup_of(store, "fresh@example.org")["status"] == "pending"  # its link still works
    assert store.get_signup(member["_id"])["status"] == "member"  # confirmed: kept
    assert svc.forget_unconfirmed_signups() == 0
