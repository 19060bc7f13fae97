"""The service shell against a real MongoDB: handlers and RPC methods called directly (nameko's
worker_factory), with the in-process bus of tests/support/shell.py (same unit of work and inbox as the real
one, no broker) and stand-ins for the sourcing and notification services. RPCs take and answer what
shared/contracts/talent_pool.py declares."""

from datetime import timedelta

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import worker_factory
from pymongo import MongoClient

from services.talent_pool.service import TalentPoolService
from services.talent_pool.store import TalentPoolStore
from shared.bus.nameko_ext import EventHandler
from shared.bus.topology import SUBSCRIPTIONS
from shared.config import Settings
from shared.contracts import notification
from shared.contracts import talent_pool as contract
from shared.contracts.caller import Caller
from shared.contracts.commands import NotificationPolicy
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.contracts.sourcing import SubmitFastTrackApplication
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.storage import AlreadyHandled, state_of
from shared.timeutil import iso, utcnow
from tests.support.hot_path import CommandLog
from tests.support.shell import FakeService, InProcessBus

HR = Caller(key_id="k1", name="alice", role="hr", divisions=("logistics",))
RETAIL_HR = Caller(key_id="k2", name="bob", role="hr", divisions=("retail",))
INTERVIEWER = Caller(key_id="k3", name="ivan", role="interviewer", divisions=("logistics",))
SYSTEM = Caller.system("gateway")


def fake_sourcing() -> FakeService:
    """sourcing at its typed seam: the fast-tracked application, as shared/contracts/sourcing.py declares it."""
    return FakeService("sourcing").answer(SubmitFastTrackApplication, lambda args: {
        "id": f"app_ft_{args.candidate_id}", "candidate_id": args.candidate_id,
        "status": "interviewed" if args.reuse_interview_from else "received"})


def fake_notification(window=180 * 86400, fail=False) -> FakeService:
    """notification at its typed seam: the division's policy, as shared/contracts/notification.py declares it."""
    def get_policy(args: notification.DivisionArgs):
        if fail:
            raise RuntimeError("notification is down")
        return notification.Policy.of(args.division, NotificationPolicy(reuse_interview_within=window))
    return FakeService("notification").answer(notification.GetPolicy, get_policy)


@pytest.fixture
def store(make_store):
    return make_store(TalentPoolStore)


@pytest.fixture
def svc(store):
    return make_service(store)


def make_service(store, caller=HR, notification=None):
    bus = InProcessBus(store, caller)
    return worker_factory(TalentPoolService, store=store, bus=bus, sourcing=fake_sourcing(),
                          notification=notification or fake_notification(), settings=Settings())


def deliver(svc, event_type, payload: dict, event_id=None):
    """Validates the payload like the inbox does and calls the handler."""
    model = EVENT_MODELS[("sourcing", event_type)]
    env = EventEnvelope(type=event_type, producer="sourcing", payload=payload,
                        **({"event_id": event_id} if event_id else {}))
    handler = {
        "requisition_opened": svc.on_requisition_opened,
        "requisition_closed": svc.on_requisition_closed,
        "application_received": svc.on_application_received,
        "application_status_changed": svc.on_application_status_changed,
    }[event_type]
    handler(model.model_validate(env.payload), env)
    return env


def requisition(rid="req_old", title="Data Engineer", division="logistics", urgent=False,
                required=("Python", "SQL"), skills=("Airflow",)):
    return {"id": rid, "title": title, "division": division, "department": "data", "tier": "basic",
            "urgent": urgent, "required_skills": list(required), "skills": list(skills), "status": "open"}


def received(svc, app_id, cand_id, req=None, consent=True, name="Ana", skills=("python", "sql"), at=None,
             event_id=None):
    req = req or requisition()
    return deliver(svc, "application_received", {
        "application_id": app_id, "candidate_id": cand_id, "requisition": req,
        "candidate": {"name": name, "email": f"{cand_id}@x.io", "skills": list(skills)},
        "source": "referral", "talent_pool_consent": consent, "received_at": iso(at or utcnow())},
        event_id=event_id)


def status(svc, app_id, cand_id, new, previous, at, req=None, consent=True, decided_days_ago=10, outcome="pass",
           average=4.3, event_id=None, sequence=0, decided_at=None):
    req = req or requisition()
    decided = outcome is not None and new not in ("received", "shortlisted", "interviewing", "interviewed")
    body = {
        "sequence": sequence,
        "application_id": app_id, "candidate_id": cand_id, "requisition_id": req["id"],
        "requisition_title": req["title"], "division": req["division"], "tier": "basic", "source": "referral",
        "talent_pool_consent": consent, "previous_status": previous, "status": new, "at": iso(at),
        "interview": {"interview_id": "int_1", "average": average, "by_competency": {"sql": 4.5},
                      "recommendations": {"yes": 2}, "discrepancy": {"flagged": False}},
        "decision": ({"outcome": outcome,
                      "decided_at": iso(decided_at or utcnow() - timedelta(days=decided_days_ago))}
                     if decided else None),
    }
    return deliver(svc, "application_status_changed", body, event_id=event_id)


def pool_candidate(svc, app_id="app_1", cand_id="c1", ending="declined", consent=True, skills=("python", "sql"),
                   name="Ana", req=None, decided_days_ago=10, average=4.3):
    """received -> interviewed -> offered -> <ending>, a minute apart."""
    t0 = utcnow() - timedelta(hours=1)
    received(svc, app_id, cand_id, req=req, consent=consent, skills=skills, name=name, at=t0)
    status(svc, app_id, cand_id, "interviewed", "interviewing", t0 + timedelta(minutes=1), req=req,
           consent=consent, decided_days_ago=decided_days_ago, average=average)
    status(svc, app_id, cand_id, "offered", "interviewed", t0 + timedelta(minutes=2), req=req, consent=consent,
           decided_days_ago=decided_days_ago, average=average)
    if ending:
        status(svc, app_id, cand_id, ending, "offered", t0 + timedelta(minutes=3), req=req, consent=consent,
               decided_days_ago=decided_days_ago, average=average)


# --- subscriptions ------------------------------------------------------------------------------------

def test_handlers_match_the_subscriptions_row():
    handled = set()
    for attr in vars(TalentPoolService).values():
        for ext in getattr(attr, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(ext, EventHandler):
                handled.add((ext.producer, ext.event_type))
    assert handled == set(SUBSCRIPTIONS["talent_pool"])


# --- entering the pool ------------------------------------------------------------------------------

def test_passed_candidate_who_declines_enters_the_pool(svc, store):
    pool_candidate(svc)
    e = store.get_pool_entry("c1")
    assert e["reason"] == "declined" and e["name"] == "Ana" and e["skills"] == ["python", "sql"]
    assert e["prior"]["application_id"] == "app_1" and e["prior"]["average"] == 4.3
    assert e["prior"]["requisition_title"] == "Data Engineer" and e["prior"]["division"] == "logistics"
    assert e["retain_until"] - e["pooled_at"] == timedelta(days=365)
    (pooled,) = svc.bus.of_type("candidate_pooled")
    assert pooled.payload["candidate_id"] == "c1" and pooled.payload["reason"] == "declined"


def test_no_consent_no_entry(svc, store):
    pool_candidate(svc, consent=False)
    assert store.get_pool_entry("c1") is None
    assert svc.bus.of_type("candidate_pooled") == []


def test_rejected_candidate_does_not_enter(svc, store):
    t0 = utcnow()
    received(svc, "app_1", "c1", at=t0)
    status(svc, "app_1", "c1", "rejected", "interviewed", t0, outcome="fail")
    status(svc, "app_1", "c1", "withdrawn", "rejected", t0 + timedelta(seconds=1), outcome="fail")
    assert store.get_pool_entry("c1") is None


def test_a_status_change_before_its_application_creates_the_projection_and_pools_once_received(svc, store):
    t = utcnow()
    status(svc, "app_early", "c1", "declined", "offered", t, sequence=5)
    app = store.get_application("app_early")
    assert (app["status"], app["candidate_id"], app["received_at"], app["consent"]) == ("declined", "c1", None, True)
    # not pooled yet: the entry needs the person's profile, which application_received brings
    assert store.get_pool_entry("c1") is None and svc.bus.of_type("candidate_pooled") == []
    received(svc, "app_early", "c1", at=t - timedelta(hours=1), skills=("python", "go"))
    app = store.get_application("app_early")
    assert app["status"] == "declined" and app["received_at"] is not None and "pool_due" not in app
    entry = store.get_pool_entry("c1")
    assert entry["reason"] == "declined" and entry["skills"] == ["python", "go"]
    assert len(svc.bus.of_type("candidate_pooled")) == 1


def received_then_changes(svc, order, t0):
    """One application's events (received, interviewed, offered, declined) delivered in `order`."""
    decided = t0 - timedelta(days=2)
    events = {
        "received": lambda: received(svc, "app_1", "c1", at=t0, consent=False),
        "interviewed": lambda: status(svc, "app_1", "c1", "interviewed", "interviewing", t0 + timedelta(minutes=1),
                                      sequence=4, average=3.5, decided_at=decided),
        "offered": lambda: status(svc, "app_1", "c1", "offered", "interviewed", t0 + timedelta(minutes=2),
                                  sequence=5, decided_at=decided),
        "declined": lambda: status(svc, "app_1", "c1", "declined", "offered", t0 + timedelta(minutes=3),
                                   sequence=6, decided_at=decided),
    }
    for name in order:
        events[name]()


@pytest.mark.parametrize("order", [
    ("received", "interviewed", "offered", "declined"),
    ("declined", "received", "offered", "interviewed"),
    ("offered", "declined", "interviewed", "received"),
])
def test_every_order_of_an_applications_events_gives_the_same_projection(make_store, order):
    first, second = make_store(TalentPoolStore), make_store(TalentPoolStore)
    in_order, shuffled = make_service(first), make_service(second)
    t0 = utcnow() - timedelta(hours=1)
    received_then_changes(in_order, ("received", "interviewed", "offered", "declined"), t0)
    received_then_changes(shuffled, order, t0)
    def projection(store):  # without `seen_at`: when this store heard of it, not what it holds
        return {k: v for k, v in state_of(store.get_application("app_1")).items() if k != "seen_at"}
    expected = projection(first)
    assert projection(second) == expected
    # the latest change carries the latest consent (given after the application, on the portal)
    assert (expected["consent"], expected["status"], expected["reached_interviewed"]) == (True, "declined", True)
    assert expected["offered_at"] and expected["interview"]["average"] == 4.3  # the latest change's summary
    assert second.get_pool_entry("c1") == first.get_pool_entry("c1") is not None
    assert len(shuffled.bus.of_type("candidate_pooled")) == 1


def test_a_redelivery_finishes_the_steps_a_stopped_first_delivery_left(svc, store, monkeypatch):
    """The projection's write records the event; the steps after it (profile, pooling) are idempotent and run
    again when the event comes back, before it is acknowledged as a duplicate."""
    t0 = utcnow() - timedelta(hours=1)
    stop_once = []

    def stopping(real):
        def step(*args, **kwargs):
            if not stop_once:
                stop_once.append(real.__name__)
                raise ConnectionError("the process stopped here")
            return real(*args, **kwargs)
        return step

    monkeypatch.setattr(store, "save_profile", stopping(store.save_profile))
    with pytest.raises(ConnectionError):
        received(svc, "app_1", "c1", at=t0, event_id="evt_received")
    assert store.get_application("app_1")["received_at"] is not None and store.profiles_of("c1") == []
    with pytest.raises(AlreadyHandled):
        received(svc, "app_1", "c1", at=t0, event_id="evt_received")
    assert [p["name"] for p in store.profiles_of("c1")] == ["Ana"]

    status(svc, "app_1", "c1", "offered", "interviewed", t0 + timedelta(minutes=1), sequence=5)
    stop_once.clear()
    monkeypatch.setattr(TalentPoolService, "_pool", stopping(TalentPoolService._pool))
    with pytest.raises(ConnectionError):
        status(svc, "app_1", "c1", "declined", "offered", t0 + timedelta(minutes=2), sequence=6,
               event_id="evt_declined")
    assert store.get_application("app_1")["pool_due"] is True and store.get_pool_entry("c1") is None
    with pytest.raises(AlreadyHandled):
        status(svc, "app_1", "c1", "declined", "offered", t0 + timedelta(minutes=2), sequence=6,
               event_id="evt_declined")
    assert store.get_pool_entry("c1")["reason"] == "declined" and "pool_due" not in store.get_application("app_1")
    with pytest.raises(AlreadyHandled):  # and once only
        status(svc, "app_1", "c1", "declined", "offered", t0 + timedelta(minutes=2), sequence=6,
               event_id="evt_declined")
    assert len(svc.bus.of_type("candidate_pooled")) == 1


def test_erasure_marks_the_projections_and_later_events_change_nothing(svc, store):
    pool_candidate(svc, ending=None)

    def erase(uow):
        uow.store.erase_candidate("c1", utcnow(), uow.session)
        uow.store.mark_erased("c1", "era_1", ["app_1"], session=uow.session)

    store.transact(erase)
    app = store.get_application("app_1")
    assert app["erased"] is True and app["decision"]["note"] is None and app["interview"]["highlights"] == []
    assert store.profiles_of("c1") == []
    status(svc, "app_1", "c1", "declined", "offered", utcnow(), sequence=9)
    assert store.get_application("app_1")["status"] == "offered" and store.get_pool_entry("c1") is None
    received(svc, "app_1", "c1")  # sent again (another event id): brings no profile back
    received(svc, "app_2", "c1", req=requisition("req_two"))  # a new application of theirs is not kept
    assert store.get_application("app_2") is None and store.profiles_of("c1") == []
    assert svc.bus.of_type("candidate_pooled") == []


def test_duplicate_event_changes_nothing(svc, store):
    pool_candidate(svc, ending=None)
    t = utcnow()
    status(svc, "app_1", "c1", "declined", "offered", t, event_id="evt_dup")
    before = store.get_pool_entry("c1")
    with pytest.raises(AlreadyHandled):
        status(svc, "app_1", "c1", "declined", "offered", t, event_id="evt_dup")
    assert store.get_pool_entry("c1") == before
    assert len(svc.bus.of_type("candidate_pooled")) == 1


def test_late_older_status_is_ignored(svc, store):
    pool_candidate(svc)
    status(svc, "app_1", "c1", "offered", "interviewed", utcnow() - timedelta(days=1))
    assert store.get_application("app_1")["status"] == "declined"
    assert store.get_pool_entry("c1")["reason"] == "declined"


def test_changes_made_at_the_same_time_keep_their_order(svc, store):
    """A fast-tracked application is received and interviewed in one transaction (one `at`): the sequence says
    which came last, whatever order they arrive in."""
    at = utcnow()
    received(svc, "app_ft", "c9", at=at)
    status(svc, "app_ft", "c9", "interviewed", "received", at, sequence=2)
    status(svc, "app_ft", "c9", "received", None, at, sequence=1)
    app = store.get_application("app_ft")
    assert (app["status"], app["status_sequence"], app["reached_interviewed"]) == ("interviewed", 2, True)


def test_hired_anywhere_removes_and_keeps_out(svc, store):
    pool_candidate(svc)
    other = requisition("req_other", "Analyst")
    received(svc, "app_2", "c1", req=other)
    status(svc, "app_2", "c1", "hired", "accepted", utcnow(), req=other)
    assert store.get_pool_entry("c1") is None
    # a later unhired ending of yet another application does not bring them back
    third = requisition("req_third", "Lead")
    pool_candidate(svc, app_id="app_3", req=third)
    assert store.get_pool_entry("c1") is None


def test_requisition_closing_with_an_open_offer_pools_the_candidate(svc, store):
    pool_candidate(svc, ending=None)
    pool_candidate(svc, app_id="app_2", cand_id="c2", ending=None, consent=False)
    deliver(svc, "requisition_closed", {"requisition_id": "req_old", "division": "logistics", "reason": "filled",
                                        "closed_at": iso(utcnow())})
    assert store.get_pool_entry("c1")["reason"] == "requisition_closed"
    assert store.get_pool_entry("c2") is None
    assert store.get_requisition("req_old")["status"] == "closed"


def test_latest_application_refreshes_the_entry(svc, store):
    pool_candidate(svc)
    second = requisition("req_two", "Platform Engineer")
    t0 = utcnow() + timedelta(minutes=5)
    received(svc, "app_2", "c1", req=second, skills=("python", "sql", "docker"), at=t0)
    status(svc, "app_2", "c1", "offered", "interviewed", t0, req=second, average=3.9)
    status(svc, "app_2", "c1", "withdrawn", "offered", t0 + timedelta(minutes=1), req=second, average=3.9)
    e = store.get_pool_entry("c1")
    assert e["reason"] == "withdrawn" and e["prior"]["application_id"] == "app_2"
    assert e["skills"] == ["python", "sql", "docker"] and "docker" in e["skills_norm"]


# --- matches ----------------------------------------------------------------------------------------

def test_urgent_requisition_surfaces_matches_at_once(svc, store):
    pool_candidate(svc, cand_id="c1", app_id="app_1", skills=("python", "sql"), name="Ana")
    pool_candidate(svc, cand_id="c2", app_id="app_2", skills=("python",), name="Bo", average=5.0)
    pool_candidate(svc, cand_id="c3", app_id="app_3", skills=("python", "sql"), name="Cy")
    urgent = requisition("req_urgent", "Senior Data Engineer", urgent=True)
    received(svc, "app_9", "c3", req=urgent)  # already applying: left out
    deliver(svc, "requisition_opened", {"requisition": urgent})
    (surfaced,) = svc.bus.of_type("matches_surfaced")
    assert surfaced.payload["candidate_ids"] == ["c1", "c2"]
    assert [m["candidate_id"] for m in store.get_matches("req_urgent")["items"]] == ["c1", "c2"]


def test_every_requisition_s_matches_are_stored_when_it_opens_and_only_urgent_ones_surface(svc, store):
    pool_candidate(svc)
    deliver(svc, "requisition_opened", {"requisition": requisition("req_new")})
    assert svc.bus.of_type("matches_surfaced") == []  # not urgent: not announced, but computed already
    stored = store.get_matches("req_new")
    assert [m["candidate_id"] for m in stored["items"]] == ["c1"] and stored["surfaced"] == ["c1"]
    matches = svc.get_matches(requisition_id="req_new")
    assert matches == stored["items"]
    assert set(matches[0]) == {"candidate_id", "name", "score", "matched_skills", "missing_skills", "prior_average",
                               "reasons", "pooled_reason"}


def test_get_matches_reads_the_stored_list_with_one_find_and_writes_nothing(store, test_infra):
    svc = make_service(store)
    pool_candidate(svc)
    pool_candidate(svc, cand_id="c2", app_id="app_2", name="Bo", average=5.0)
    open_urgent(svc)
    listener = CommandLog()
    client = MongoClient(test_infra.mongo_url, tz_aware=True, event_listeners=[listener])
    try:
        reader = make_service(TalentPoolStore(client, store.db.name))
        listener.clear()
        matches = reader.get_matches(requisition_id="req_urgent")
        assert listener.sent == [("find", "matches")]  # no transaction, no write, no ranking
    finally:
        client.close()
    assert [m["candidate_id"] for m in matches] == ["c2", "c1"]
    assert matches == store.get_matches("req_urgent")["items"]


def refreshed(svc) -> int:
    """One tick of the timer that keeps stored lists up to date (what the running service does every second)."""
    return svc.refresh_matches()


def test_a_pool_change_reaches_the_stored_lists_through_the_refresh_not_the_read(svc, store):
    pool_candidate(svc)
    open_urgent(svc)
    refreshed(svc)
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_urgent")] == ["c1"]
    # pooled after the opening: not on the list until the refresh (the GET computes nothing) ...
    pool_candidate(svc, cand_id="c2", app_id="app_2", name="Bo", average=5.0)
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_urgent")] == ["c1"]
    assert refreshed(svc) >= 1
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_urgent")] == ["c2", "c1"]
    assert store.get_matches("req_urgent")["surfaced"] == ["c1", "c2"]
    # ... and a tick with nothing new rewrites nothing
    computed_at = store.get_matches("req_urgent")["computed_at"]
    assert refreshed(svc) == 0 and store.get_matches("req_urgent")["computed_at"] == computed_at
    # a change no open list can feel (no shared skill) rewrites nothing either
    pool_candidate(svc, cand_id="c3", app_id="app_3", name="Cy", skills=("cooking",))
    assert refreshed(svc) == 0 and store.get_matches("req_urgent")["computed_at"] == computed_at
    # a newer profile from the pooling division changes the entry: the list follows
    received(svc, "app_4", "c1", skills=("python",), at=utcnow())
    refreshed(svc)
    [c1] = [m for m in svc.get_matches(requisition_id="req_urgent") if m["candidate_id"] == "c1"]
    assert c1["matched_skills"] == ["Python"] and c1["missing_skills"] == ["SQL", "Airflow"]


def test_applying_hired_and_withdrawn_candidates_leave_the_stored_list(svc, store):
    pool_candidate(svc)
    pool_candidate(svc, cand_id="c2", app_id="app_2", name="Bo", average=5.0)
    pool_candidate(svc, cand_id="c3", app_id="app_3", name="Cy", average=3.0)
    urgent = open_urgent(svc)
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_urgent")] == ["c2", "c1", "c3"]
    received(svc, "app_9", "c2", req=urgent)  # applies to it: no longer a match from the next refresh on
    refreshed(svc)
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_urgent")] == ["c1", "c3"]
    received(svc, "app_h", "c1", req=requisition("req_other"))
    status(svc, "app_h", "c1", "hired", "accepted", utcnow())
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_urgent")] == ["c3"]
    make_service(store, caller=SYSTEM).withdraw_consent(application_id="app_3")
    assert svc.get_matches(requisition_id="req_urgent") == []
    refreshed(svc)  # and the refresh does not bring any of them back
    assert svc.get_matches(requisition_id="req_urgent") == []


def test_a_requisition_first_known_from_an_application_gets_a_list_without_its_applicant(svc, store):
    pool_candidate(svc)
    pool_candidate(svc, cand_id="c2", app_id="app_2", name="Bo")
    received(svc, "app_9", "c1", req=requisition("req_fresh"))  # before requisition_opened reached us
    # ranked on request (nothing stored) until the refresh stores its list
    assert store.get_matches("req_fresh") is None
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_fresh")] == ["c2"]
    refreshed(svc)
    assert [m["candidate_id"] for m in store.get_matches("req_fresh")["items"]] == ["c2"]
    assert store.get_requisition("req_fresh").get("unlisted") is None


def test_a_closed_requisition_s_list_is_no_longer_refreshed(svc, store):
    pool_candidate(svc)
    urgent = open_urgent(svc)
    deliver(svc, "requisition_closed", {"requisition_id": urgent["id"], "division": "logistics", "reason": "filled",
                                        "closed_at": iso(utcnow())})
    refreshed(svc)
    pool_candidate(svc, cand_id="c2", app_id="app_2", name="Bo", average=5.0)
    refreshed(svc)
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_urgent")] == ["c1"]
    assert store.get_matches("req_urgent")["open"] is False


def test_a_requisition_known_before_lists_were_stored_gets_one_once_the_index_is_built(svc, store):
    pool_candidate(svc)
    store.save_requisition({**requisition("req_legacy"), "_id": "req_legacy", "created_at": utcnow()}, None)
    # no stored list yet: the GET ranks it without storing anything
    assert [m["candidate_id"] for m in svc.get_matches(requisition_id="req_legacy")] == ["c1"]
    assert store.get_matches("req_legacy") is None
    fresh = TalentPoolStore(store.client, store.db.name)  # a restarted process: its index is built anew
    make_service(fresh).refresh_matches()
    assert [m["candidate_id"] for m in store.get_matches("req_legacy")["items"]] == ["c1"]


def test_get_matches_is_scoped(store):
    svc = make_service(store, caller=RETAIL_HR)
    deliver(svc, "requisition_opened", {"requisition": requisition("req_new")})
    with pytest.raises(NotFound):
        svc.get_matches(requisition_id="req_new")
    with pytest.raises(NotFound):
        svc.get_matches(requisition_id="req_unknown")


# --- list_pool --------------------------------------------------------------------------------------

def test_list_pool_filters_and_roles(svc, store):
    pool_candidate(svc, cand_id="c1", app_id="app_1", skills=("Python", "SQL"))
    retail = requisition("req_r", "Store Manager", division="retail", required=("Retail",))
    pool_candidate(svc, cand_id="c2", app_id="app_2", skills=("retail", "python"), req=retail)
    page = svc.list_pool()
    assert [e["candidate_id"] for e in page["items"]] == ["c1", "c2"] and page["next_cursor"] is None
    item = page["items"][0]
    assert set(item) == {"candidate_id", "name", "skills", "prior", "reason", "pooled_at", "retain_until"}
    assert item["pooled_at"].endswith("Z") and item["prior"]["decided_at"].endswith("Z")
    assert [e["candidate_id"] for e in svc.list_pool(skill="  PYTHON ")["items"]] == ["c1", "c2"]
    assert [e["candidate_id"] for e in svc.list_pool(skill="sql")["items"]] == ["c1"]
    assert [e["candidate_id"] for e in svc.list_pool(division="retail")["items"]] == ["c2"]
    # group-wide: a retail key sees the logistics candidate too
    assert len(make_service(store, caller=RETAIL_HR).list_pool()["items"]) == 2
    first = svc.list_pool(limit=1)
    assert len(first["items"]) == 1 and first["next_cursor"]
    assert svc.list_pool(limit=1, cursor=first["next_cursor"])["items"][0]["candidate_id"] == "c2"
    with pytest.raises(Forbidden):
        make_service(store, caller=INTERVIEWER).list_pool()
    with pytest.raises(Invalid):
        svc.list_pool(limit=0)


# --- re-engagement ----------------------------------------------------------------------------------

def open_urgent(svc):
    urgent = requisition("req_urgent", "Senior Data Engineer", urgent=True)
    deliver(svc, "requisition_opened", {"requisition": urgent})
    return urgent


def test_reengage_once_per_requisition_and_candidate(svc, store):
    pool_candidate(svc)
    open_urgent(svc)
    out = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    assert out["id"].startswith("reg_") and out["status"] == "pending"
    assert out == {"id": out["id"], "requisition_id": "req_urgent", "candidate_id": "c1", "status": "pending"}
    (req_event,) = svc.bus.of_type("reengagement_requested")
    assert req_event.payload["requisition_title"] == "Senior Data Engineer"
    assert req_event.payload["requested_by"] == "alice"
    with pytest.raises(Conflict) as exc:
        svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    assert exc.value.code == "already_reengaged"


def test_reengage_only_a_current_match(svc, store):
    pool_candidate(svc)
    open_urgent(svc)
    with pytest.raises(NotFound) as exc:
        svc.reengage(requisition_id="req_urgent", candidate_id="c_nobody")
    assert exc.value.code == "not_a_match"
    with pytest.raises(Forbidden):
        make_service(store, caller=INTERVIEWER).reengage(requisition_id="req_urgent", candidate_id="c1")
    with pytest.raises(NotFound):
        make_service(store, caller=RETAIL_HR).reengage(requisition_id="req_urgent", candidate_id="c1")


def test_accept_within_window_with_skills_is_fast_tracked(store):
    svc = make_service(store)
    pool_candidate(svc, decided_days_ago=10)
    open_urgent(svc)
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    portal = make_service(store, caller=SYSTEM)
    seen = portal.get_reengagement(reengagement_id=reg["id"])
    assert seen["status"] == "pending" and seen["application_id"] is None and seen["answered_at"] is None
    out = portal.respond_reengagement(reengagement_id=reg["id"], response="accept")
    assert out["status"] == "accepted" and out["fast_track"] is True and out["application_id"] == "app_ft_c1"
    assert set(out) == {"id", "requisition_id", "requisition_title", "division", "candidate_id", "status",
                        "application_id", "fast_track", "created_at", "answered_at"}
    (call,) = portal.sourcing.calls_to(SubmitFastTrackApplication)
    assert call.model_dump() == {"requisition_id": "req_urgent", "candidate_id": "c1", "reengagement_id": reg["id"],
                                 "reuse_interview_from": "app_1", "candidate": None}  # None: not a community member
    assert portal.notification.calls_to(notification.GetPolicy) == [notification.DivisionArgs(division="logistics")]
    (answered,) = portal.bus.of_type("reengagement_answered")
    assert answered.payload["response"] == "accept" and answered.payload["application_id"] == "app_ft_c1"
    with pytest.raises(Conflict) as exc:
        portal.respond_reengagement(reengagement_id=reg["id"], response="decline")
    assert exc.value.code == "already_answered"


def test_accept_outside_window_is_not_fast_tracked(store):
    svc = make_service(store)
    pool_candidate(svc, decided_days_ago=10)
    open_urgent(svc)
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    portal = make_service(store, caller=SYSTEM, notification=fake_notification(window=86400))
    out = portal.respond_reengagement(reengagement_id=reg["id"], response="accept")
    assert out["status"] == "accepted" and out["fast_track"] is False
    assert portal.sourcing.calls_to(SubmitFastTrackApplication)[0].reuse_interview_from is None


def test_missing_required_skill_is_not_fast_tracked_and_policy_failure_uses_default(store):
    svc = make_service(store)
    pool_candidate(svc, skills=("python",), decided_days_ago=10)
    open_urgent(svc)
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    portal = make_service(store, caller=SYSTEM, notification=fake_notification(fail=True))
    out = portal.respond_reengagement(reengagement_id=reg["id"], response="accept")
    assert out["fast_track"] is False
    assert portal.sourcing.calls_to(SubmitFastTrackApplication)[0].reuse_interview_from is None


def test_default_policy_still_fast_tracks_a_recent_complete_pass(store):
    svc = make_service(store)
    pool_candidate(svc, decided_days_ago=10)
    open_urgent(svc)
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    portal = make_service(store, caller=SYSTEM, notification=fake_notification(fail=True))
    assert portal.respond_reengagement(reengagement_id=reg["id"], response="accept")["fast_track"] is True


def test_decline_and_portal_only(store):
    svc = make_service(store)
    pool_candidate(svc)
    open_urgent(svc)
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    with pytest.raises(Forbidden):
        svc.respond_reengagement(reengagement_id=reg["id"], response="decline")
    portal = make_service(store, caller=SYSTEM)
    with pytest.raises(Invalid):
        portal.respond_reengagement(reengagement_id=reg["id"], response="maybe")
    out = portal.respond_reengagement(reengagement_id=reg["id"], response="decline")
    assert out["status"] == "declined" and out["application_id"] is None and out["answered_at"]
    assert portal.sourcing.calls_to(SubmitFastTrackApplication) == []
    with pytest.raises(NotFound):
        make_service(store, caller=RETAIL_HR).get_reengagement(reengagement_id=reg["id"])
    with pytest.raises(NotFound):
        portal.get_reengagement(reengagement_id="reg_nope")


# --- the talent-pool report ---------------------------------------------------------------------------

def test_pool_report_from_the_projections(store):
    svc = make_service(store)
    pool_candidate(svc)  # c1 declines on logistics' req_old: pooled
    opened = utcnow() - timedelta(days=5)
    urgent = {**requisition("req_urgent", "Senior Data Engineer", urgent=True), "created_at": iso(opened)}
    deliver(svc, "requisition_opened", {"requisition": urgent})
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    make_service(store, caller=SYSTEM).respond_reengagement(reengagement_id=reg["id"], response="accept")
    # the fast-tracked application sourcing creates, offered a day after the opening
    deliver(svc, "application_received", {
        "application_id": "app_ft_c1", "candidate_id": "c1", "requisition": urgent,
        "candidate": {"name": "Ana", "email": "c1@x.io", "skills": ["python", "sql"]}, "source": "talent_pool",
        "talent_pool_consent": True, "received_at": iso(opened + timedelta(hours=1)),
        "fast_track": {"reengagement_id": reg["id"], "reused_interview_from": "app_1"}})
    status(svc, "app_ft_c1", "c1", "offered", "interviewed", opened + timedelta(days=1), req=urgent)
    # a new candidate, offered after 3 days; the acceptance arrives before the offer (out of order)
    received(svc, "app_new", "c9", req=urgent, at=opened + timedelta(hours=2))
    status(svc, "app_new", "c9", "accepted", "offered", opened + timedelta(days=3.5), req=urgent)
    status(svc, "app_new", "c9", "offered", "interviewed", opened + timedelta(days=3), req=urgent)
    assert store.get_application("app_new")["status"] == "accepted"  # the stale offer changed only offered_at

    out = svc.pool_report()
    assert out == {"division": None, "from": None, "to": None, "pool_size": 1, "pooled": 1, "resurfaced": 1,
                   "reengaged": 1, "reengagement_answered": 1, "reengagement_accepted": 1, "acceptance_rate": 1.0,
                   "urgent_time_to_offer_days": {"fast_tracked": {"count": 1, "median": 1.0, "p90": 1.0},
                                                 "new": {"count": 1, "median": 3.0, "p90": 3.0}}}
    # the period bounds poolings, openings and re-engagements; the pool size is the pool now
    later = svc.pool_report(start=iso(utcnow() + timedelta(days=1)))
    assert (later["pool_size"], later["pooled"], later["resurfaced"], later["reengaged"]) == (1, 0, 0, 0)
    assert later["urgent_time_to_offer_days"]["fast_tracked"]["count"] == 0

    retail = make_service(store, caller=RETAIL_HR)
    assert retail.pool_report()["pool_size"] == 0 and retail.pool_report()["reengaged"] == 0
    with pytest.raises(NotFound):
        retail.pool_report(division="logistics")
    with pytest.raises(Invalid) as exc:
        svc.pool_report(start="2026-02-01", end="2026-01-01")
    assert exc.value.field == "to"
    with pytest.raises(Forbidden):
        make_service(store, caller=INTERVIEWER).pool_report()
    exported = make_service(store, caller=SYSTEM).export_candidate(candidate_id="c1", application_ids=[])
    assert [(p["application_id"], p["reason"]) for p in exported["poolings"]] == [("app_1", "declined")]


# --- the declarations (shared/contracts/talent_pool.py): roles, arguments, answers ---------------------

def test_roles_are_the_declarations(store):
    svc = make_service(store)
    pool_candidate(svc)
    open_urgent(svc)
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    # the portal's RPCs answer a system caller only (the gateway, after checking the candidate's link)
    for person in (HR, make_admin()):
        shell = make_service(store, caller=person)
        with pytest.raises(Forbidden):
            shell.consent_status(reengagement_id=reg["id"])
        with pytest.raises(Forbidden):
            shell.withdraw_consent(reengagement_id=reg["id"])
        with pytest.raises(Forbidden):
            shell.respond_reengagement(reengagement_id=reg["id"], response="accept")
    # the right of access is an admin's
    with pytest.raises(Forbidden):
        svc.export_candidate(candidate_id="c1", application_ids=[])
    assert make_service(store, caller=make_admin()).export_candidate(candidate_id="c1", application_ids=[])
    assert store.get_pool_entry("c1") is not None  # nothing a refused call did changed the pool


def make_admin():
    return Caller(key_id="k9", name="root", role="admin", divisions=())


@pytest.mark.parametrize(("method", "kwargs", "field", "message"), [
    ("list_pool", {"limit": 0}, "limit", "limit: must be an integer from 1 to 500"),
    ("list_pool", {"limit": True}, "limit", "limit: must be an integer from 1 to 500"),
    ("list_pool", {"skill": "x" * 81}, "skill", "skill: must be a string of at most 80 characters"),
    ("list_pool", {"division": 7}, "division", "division: must be a string of at most 80 characters"),
    ("list_pool", {"cursor": 5}, "cursor", "cursor: not a cursor returned by this API"),
    ("list_pool", {"sort": "name"}, "sort", "sort: unknown field"),
    ("reengage", {"requisition_id": "", "candidate_id": "c1"}, "requisition_id", None),
    ("get_matches", {}, "requisition_id", None),
    ("export_candidate", {"candidate_id": "c1", "application_ids": "app_1"}, "application_ids", None),
])
def test_arguments_are_parsed_as_declared_naming_the_field(store, method, kwargs, field, message):
    with pytest.raises(Invalid) as err:
        getattr(make_service(store, caller=make_admin()), method)(**kwargs)
    assert err.value.field == field
    if message:
        assert err.value.message == message


def test_a_portal_answer_is_parsed_as_declared(store):
    svc = make_service(store)
    pool_candidate(svc)
    open_urgent(svc)
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    portal = make_service(store, caller=SYSTEM)
    with pytest.raises(Invalid) as err:
        portal.respond_reengagement(reengagement_id=reg["id"], response="maybe")
    assert err.value.field == "response"
    with pytest.raises(Invalid) as err:  # the nested body of the old call: an unknown argument, refused
        portal.respond_reengagement(reengagement_id=reg["id"], response="accept", data={"response": "accept"})
    assert (err.value.field, err.value.message) == ("data", "data: unknown field")
    assert portal.get_reengagement(reengagement_id=reg["id"])["status"] == "pending"


def test_answers_are_the_declared_models(store):
    svc = make_service(store)
    pool_candidate(svc)
    open_urgent(svc)
    page = contract.PoolPage.model_validate(svc.list_pool())
    assert [e.candidate_id for e in page.items] == ["c1"]
    assert page.items[0].prior.requisition_title == "Data Engineer" and page.items[0].prior.application_id == "app_1"
    [match] = [contract.Match.model_validate(m) for m in svc.get_matches(requisition_id="req_urgent")]
    assert match.candidate_id == "c1"
    reg = contract.Reengagement.model_validate(svc.reengage(requisition_id="req_urgent", candidate_id="c1"))
    portal = make_service(store, caller=SYSTEM)
    detail = contract.ReengagementDetail.model_validate(portal.get_reengagement(reengagement_id=reg.id))
    assert (detail.status, detail.division, detail.requisition_title) == ("pending", "logistics",
                                                                           "Senior Data Engineer")
    report = contract.TalentPoolReport.model_validate(svc.pool_report())
    assert report.pool_size == 1 and report.reengaged == 1
    exported = contract.TalentPoolExport.model_validate(
        make_service(store, caller=make_admin()).export_candidate(candidate_id="c1", application_ids=["app_1"]))
    assert exported.pool_entry.candidate_id == "c1" and [r.id for r in exported.reengagements] == [reg.id]
    assert [(p.division, p.name) for p in exported.profiles] == [("logistics", "Ana")]


def test_an_answer_that_drifts_from_its_declaration_fails_in_the_service(store, monkeypatch):
    svc = make_service(store)
    pool_candidate(svc)
    open_urgent(svc)
    real = TalentPoolService._rank

    def leaky(store_, requisition, now, session=None):
        items, retain_until = real(store_, requisition, now, session=session)
        return [{**m, "email": "leak@x.io"} for m in items], retain_until

    monkeypatch.setattr(TalentPoolService, "_rank", staticmethod(leaky))
    pool_candidate(svc, cand_id="c2", app_id="app_2", name="Bo", average=5.0)
    svc.refresh_matches()  # the stored list now carries a field Match does not declare
    with pytest.raises(ValueError, match="email"):
        svc.get_matches(requisition_id="req_urgent")


def test_the_portal_reads_and_withdraws_consent(store):
    svc = make_service(store)
    pool_candidate(svc)
    open_urgent(svc)
    reg = svc.reengage(requisition_id="req_urgent", candidate_id="c1")
    portal = make_service(store, caller=SYSTEM)
    assert portal.consent_status(application_id="app_1") == {"in_pool": True, "withdrawn": False}
    out = portal.withdraw_consent(reengagement_id=reg["id"])
    assert out == {"candidate_id": "c1", "talent_pool_consent": False, "removed_from_pool": True,
                   "reengagements_withdrawn": 1}
    assert portal.consent_status(reengagement_id=reg["id"]) == {"in_pool": False, "withdrawn": True}
    assert portal.get_reengagement(reengagement_id=reg["id"])["status"] == "withdrawn"
    again = portal.withdraw_consent(application_id="app_1")  # twice changes nothing more
    assert (again["removed_from_pool"], again["reengagements_withdrawn"]) == (False, 0)
    with pytest.raises(NotFound) as err:
        portal.consent_status(application_id="app_nobody")
    assert err.value.code == "candidate_not_found"
