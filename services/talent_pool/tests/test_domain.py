from datetime import UTC, datetime, timedelta

import pytest

from services.talent_pool import domain
from services.talent_pool.domain import (
    answer_status,
    build_pool_entry,
    fast_track_eligible,
    find_matches,
    is_active,
    match_one,
    pool_reason,
    pool_reason_on_close,
    reached_interviewed,
    recency_factor,
    score,
    split_skills,
    supersedes,
    talent_pool_report,
    within_window,
)

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def req(**kw):
    base = dict(_id="req_new", title="Data Engineer", division="logistics", tier="basic", urgent=True,
                required_skills=["Python", "SQL", "Docker"], skills=["Airflow", "Kafka"], status="open")
    base.update(kw)
    return base


def app(**kw):
    base = dict(_id="app_1", application_id="app_1", candidate_id="c1", requisition_id="req_old",
                requisition_title="Data Engineer", division="logistics", consent=True, status="offered",
                reached_interviewed=True,
                decision={"outcome": "pass", "decided_at": datetime(2026, 5, 1, tzinfo=UTC)},
                interview={"average": 4.3, "by_competency": {"sql": 4.5, "python": 4.1}})
    base.update(kw)
    return base


def cand(cid="c1", skills=("python", "sql", "docker"), name="Ana"):
    return {"candidate_id": cid, "name": name, "skills": list(skills)}


def entry(cid="c1", skills=("python", "sql", "docker"), average=4.0, decided_days_ago=30, pooled_days_ago=20,
          reason="declined", retention_days=365, name=None):
    decided = NOW - timedelta(days=decided_days_ago)
    a = app(application_id=f"app_{cid}", _id=f"app_{cid}", candidate_id=cid,
            decision={"outcome": "pass", "decided_at": decided},
            interview={"average": average, "by_competency": {}})
    return build_pool_entry(cand(cid, skills, name or cid.upper()), a, reason, NOW - timedelta(days=pooled_days_ago),
                            retention_days)


# --- pool entry -------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["declined", "no_show", "withdrawn"])
def test_passed_interviewed_application_ending_unhired_enters_the_pool(status):
    assert pool_reason(app(status=status), status) == status


def test_no_consent_no_entry():
    assert pool_reason(app(consent=False), "declined") is None
    assert pool_reason(app(consent=None), "declined") is None
    assert pool_reason_on_close(app(consent=False)) is None


def test_failed_or_undecided_application_does_not_enter():
    assert pool_reason(app(decision={"outcome": "fail", "decided_at": NOW}), "withdrawn") is None
    assert pool_reason(app(decision=None), "withdrawn") is None


def test_withdrawal_before_the_interview_does_not_enter():
    early = app(status="withdrawn", reached_interviewed=False, interview=None, decision=None)
    assert pool_reason(early, "withdrawn") is None


def test_other_statuses_do_not_enter_and_hired_candidates_never_do():
    for status in ("offered", "accepted", "rejected", "hired", "interviewed"):
        assert pool_reason(app(), status) is None
    assert pool_reason(app(), "declined", candidate_hired=True) is None
    assert pool_reason_on_close(app(), candidate_hired=True) is None


def test_reached_interviewed_from_status_previous_status_or_summary():
    assert reached_interviewed({"status": "offered"})
    assert reached_interviewed({"status": "withdrawn"}, previous_status="awaiting_approval")
    assert reached_interviewed({"status": "withdrawn", "interview": {"average": 4}})
    assert not reached_interviewed({"status": "withdrawn"}, previous_status="shortlisted")


def test_requisition_close_pools_only_open_offers_with_pass_and_consent():
    assert pool_reason_on_close(app(status="offered")) == "requisition_closed"
    assert pool_reason_on_close(app(status="accepted")) is None
    assert pool_reason_on_close(app(status="interviewed")) is None
    assert pool_reason_on_close(app(status="offered", decision={"outcome": "fail", "decided_at": NOW})) is None


def test_pool_entry_shape_and_retention():
    pooled_at = datetime(2026, 6, 1, tzinfo=UTC)
    e = build_pool_entry(cand(skills=["Python", " SQL "]), app(), "declined", pooled_at, 365)
    assert e["_id"] == e["candidate_id"] == "c1"
    assert e["prior"] == {"requisition_id": "req_old", "requisition_title": "Data Engineer",
                          "application_id": "app_1", "division": "logistics", "average": 4.3,
                          "by_competency": {"sql": 4.5, "python": 4.1},
                          "decided_at": datetime(2026, 5, 1, tzinfo=UTC)}
    assert e["reason"] == "declined" and e["pooled_at"] == pooled_at
    assert e["retain_until"] == pooled_at + timedelta(days=365)
    assert e["skills_norm"] == ["python", "sql"]
    with pytest.raises(ValueError):
        build_pool_entry(cand(), app(), "rejected", pooled_at, 365)


def test_latest_entry_wins():
    old = entry(pooled_days_ago=40)
    new = entry(pooled_days_ago=5)
    assert supersedes(new, old) and not supersedes(old, new)
    assert supersedes(old, None)
    assert supersedes(new, new)  # a redelivery rewrites the same entry


def test_expiry():
    e = entry(pooled_days_ago=10, retention_days=30)
    assert is_active(e, NOW)
    assert not is_active(e, NOW + timedelta(days=20))
    assert not is_active(e, e["retain_until"])  # retain_until itself is past
    assert not is_active(e, NOW, hired=True)


def test_out_of_order_guard():
    """The projection's order (shared/contracts/status.py): a late older change never replaces a newer one."""
    from shared.contracts.status import supersedes

    assert supersedes(None, None, 0, NOW)
    assert supersedes(0, NOW, 0, NOW)
    assert not supersedes(0, NOW, 0, NOW - timedelta(seconds=1))
    assert supersedes(1, NOW, 2, NOW) and not supersedes(2, NOW, 1, NOW)  # one transaction: by sequence


# --- scoring ----------------------------------------------------------------------------------------

def test_score_weights():
    # all required, all nice, perfect average, decided now: 100
    assert score(3, 3, 2, 2, 5.0, NOW, NOW) == 100
    assert score(0, 3, 0, 2, None, None, NOW) == 0
    assert score(3, 3, 0, 2, None, None, NOW) == 50
    assert score(0, 3, 2, 2, None, None, NOW) == 15
    assert score(0, 3, 0, 2, 5.0, None, NOW) == 25
    assert score(0, 3, 0, 2, 3.0, None, NOW) == 15
    assert score(1, 2, 1, 4, None, None, NOW) == 29  # 25 + 3.75
    assert score(0, 3, 0, 2, None, NOW, NOW) == 10
    # no nice-to-have skills asked: that part is fully covered
    assert score(3, 3, 0, 0, None, None, NOW) == 65


def test_recency_decays_linearly_over_a_year():
    assert recency_factor(NOW, NOW) == 1
    assert recency_factor(NOW - timedelta(days=182.5), NOW) == pytest.approx(0.5)
    assert recency_factor(NOW - timedelta(days=365), NOW) == 0
    assert recency_factor(NOW - timedelta(days=900), NOW) == 0
    assert recency_factor(None, NOW) == 0


def test_split_skills_dedupes_and_required_wins():
    required, nice = split_skills(req(required_skills=["Python", "python "], skills=["PYTHON", "Kafka"]))
    assert required == ["Python"] and nice == ["Kafka"]


def test_match_reports_skills_and_readable_reasons():
    e = entry(skills=["python", "sql", "docker", "airflow"], average=4.3, decided_days_ago=40)
    e["prior"]["decided_at"] = datetime(2026, 5, 1, tzinfo=UTC)
    e["pooled_at"] = datetime(2026, 6, 1, tzinfo=UTC)
    m = match_one(e, req(), NOW)
    assert m["matched_skills"] == ["Python", "SQL", "Docker", "Airflow"]
    assert m["missing_skills"] == ["Kafka"]
    assert m["prior_average"] == 4.3 and m["pooled_reason"] == "declined"
    assert m["reasons"] == [
        "Has all 3 required skills: Python, SQL, Docker.",
        "Has 1 of 2 nice-to-have skills: Airflow.",
        "Passed the interview for Data Engineer (logistics) with an average of 4.3/5 on 2026-05-01.",
        "Declined the previous offer; in the talent pool since 2026-06-01.",
    ]
    # 50 + 15*1/2 + 25*4.3/5 + 10*(1 - 40/365) = 50 + 7.5 + 21.5 + 8.9 = 87.9
    assert m["score"] == 88


def test_missing_required_skill_is_named():
    m = match_one(entry(skills=["python", "sql"]), req(required_skills=["Python", "SQL", "Kubernetes"]), NOW)
    assert "Missing required skill: Kubernetes." in m["reasons"]
    assert "Has 2 of 3 required skills: Python, SQL." in m["reasons"]
    m2 = match_one(entry(skills=["python"]), req(required_skills=["Python", "SQL", "Kubernetes"]), NOW)
    assert "Missing required skills: SQL, Kubernetes." in m2["reasons"]


@pytest.mark.parametrize("reason,sentence", [
    ("no_show", "Did not start after accepting the previous offer"),
    ("withdrawn", "Withdrew from the previous application"),
    ("requisition_closed", "The previous requisition closed while the offer was open"),
])
def test_pooled_reason_sentences(reason, sentence):
    m = match_one(entry(reason=reason), req(), NOW)
    assert m["reasons"][-1].startswith(sentence + "; in the talent pool since ")


def test_skills_match_case_insensitively():
    m = match_one(entry(skills=["  PYTHON", "sql", "DoCkEr"]), req(), NOW)
    assert m["missing_skills"] == ["Airflow", "Kafka"]
    assert m["matched_skills"] == ["Python", "SQL", "Docker"]


# --- ranking and exclusions ---------------------------------------------------------------------------

def test_lacking_one_required_skill_ranks_below_everyone_with_all_of_them():
    strong_but_missing = entry("c_missing", skills=["python", "sql", "airflow", "kafka"], average=5.0,
                               decided_days_ago=1)
    weak_complete = entry("c_weak", skills=["python", "sql", "docker"], average=1.0, decided_days_ago=360)
    mid_complete = entry("c_mid", skills=["python", "sql", "docker"], average=3.0, decided_days_ago=100)
    ranked = find_matches(req(), [strong_but_missing, weak_complete, mid_complete], NOW)
    assert [m["candidate_id"] for m in ranked] == ["c_mid", "c_weak", "c_missing"]
    # ...even though its score is higher than the weak complete candidate's
    by_id = {m["candidate_id"]: m for m in ranked}
    assert by_id["c_missing"]["score"] > by_id["c_weak"]["score"]


def test_same_coverage_ranks_by_score_then_prior_average():
    a = entry("c_a", average=4.0, decided_days_ago=10)
    b = entry("c_b", average=4.5, decided_days_ago=10)
    c = entry("c_c", skills=["python", "sql", "docker", "airflow", "kafka"], average=3.0, decided_days_ago=10)
    ranked = [m["candidate_id"] for m in find_matches(req(), [a, b, c], NOW)]
    assert ranked == ["c_c", "c_b", "c_a"]
    # equal score: the higher prior average first
    x = entry("c_x", average=4.0, decided_days_ago=10)
    y = entry("c_y", average=4.04, decided_days_ago=10)
    ms = find_matches(req(), [x, y], NOW)
    assert ms[0]["score"] == ms[1]["score"]
    assert [m["candidate_id"] for m in ms] == ["c_y", "c_x"]


def test_exclusions_applying_hired_and_expired():
    keep = entry("c_keep")
    applying = entry("c_applying")
    hired = entry("c_hired")
    expired = entry("c_expired", pooled_days_ago=400, retention_days=365)
    ranked = find_matches(req(), [keep, applying, hired, expired], NOW, applying={"c_applying"}, hired={"c_hired"})
    assert [m["candidate_id"] for m in ranked] == ["c_keep"]


def test_candidate_without_any_requested_skill_is_not_a_match():
    assert find_matches(req(), [entry("c_none", skills=["cooking"], average=5.0)], NOW) == []


def test_match_shape_has_only_the_api_fields():
    (m,) = find_matches(req(), [entry()], NOW)
    assert set(m) == {"candidate_id", "name", "score", "matched_skills", "missing_skills", "prior_average",
                      "reasons", "pooled_reason"}
    assert 0 <= m["score"] <= 100


def test_limit_caps_the_list():
    entries = [entry(f"c{i}") for i in range(5)]
    assert len(find_matches(req(), entries, NOW, limit=3)) == 3


def test_missing_average_still_ranks_and_reads_well():
    e = entry(average=None)
    m = match_one(e, req(), NOW)
    assert m["prior_average"] is None
    assert any(r.startswith("Passed the interview for Data Engineer (logistics) on ") for r in m["reasons"])


# --- fast track -------------------------------------------------------------------------------------

WINDOW = 180 * 86400


def test_fast_track_needs_recent_pass_and_required_skills():
    recent = NOW - timedelta(days=30)
    assert fast_track_eligible(recent, NOW, WINDOW, ["python", "SQL", "docker"], ["Python", "SQL", "Docker"])
    # too old
    assert not fast_track_eligible(NOW - timedelta(days=181), NOW, WINDOW, ["python", "sql", "docker"],
                                   ["Python", "SQL", "Docker"])
    # missing a required skill
    assert not fast_track_eligible(recent, NOW, WINDOW, ["python", "sql"], ["Python", "SQL", "Docker"])
    # unknown decision date
    assert not fast_track_eligible(None, NOW, WINDOW, ["python"], ["Python"])


def test_window_boundary_and_zero_window():
    assert within_window(NOW - timedelta(seconds=WINDOW), NOW, WINDOW)
    assert not within_window(NOW - timedelta(seconds=WINDOW + 1), NOW, WINDOW)
    assert not within_window(NOW - timedelta(seconds=1), NOW, 0)


def test_answer_status():
    assert answer_status("accept") == "accepted"
    assert answer_status("decline") == "declined"
    with pytest.raises(ValueError):
        answer_status("maybe")


# --- the talent-pool report -----------------------------------------------------------------------------

def report_records(**overrides):
    t = NOW - timedelta(days=10)
    records = {
        "pool": [{"candidate_id": "c1", "retain_until": NOW + timedelta(days=1)},
                 {"candidate_id": "c2", "retain_until": NOW + timedelta(days=1)},   # hired since
                 {"candidate_id": "c3", "retain_until": NOW - timedelta(seconds=1)}],  # expired
        "hired": ["c2"],
        "poolings": [{"candidate_id": "c1"}, {"candidate_id": "c1"}, {"candidate_id": "c4"}],
        "requisitions": [{"_id": "r_urgent", "urgent": True, "created_at": t},
                         {"_id": "r_other", "urgent": False, "created_at": t}],
        "matches": [{"_id": "r_urgent", "surfaced": ["c1", "c4"], "items": [{"candidate_id": "c1"}]},
                    {"_id": "r_other", "surfaced": ["c4", "c5"], "items": []}],
        "reengagements": [{"status": "accepted"}, {"status": "declined"}, {"status": "pending"},
                          {"status": "withdrawn"}],
        "applications": [
            {"requisition_id": "r_urgent", "reengagement_id": "reg_1", "offered_at": t + timedelta(days=1)},
            {"requisition_id": "r_urgent", "source": "talent_pool", "offered_at": t + timedelta(days=2)},
            {"requisition_id": "r_urgent", "reengagement_id": "reg_3", "offered_at": t + timedelta(days=4)},
            {"requisition_id": "r_urgent", "source": "referral", "offered_at": t + timedelta(days=6)},
            {"requisition_id": "r_urgent", "source": "web", "offered_at": t + timedelta(days=8)},
            {"requisition_id": "r_urgent", "source": "web", "offered_at": None},             # no offer yet
            {"requisition_id": "r_elsewhen", "source": "web", "offered_at": t},               # not in the period
        ],
    }
    records.update(overrides)
    return records


def test_talent_pool_report_figures():
    out = talent_pool_report(report_records(), NOW)
    assert out == {
        "pool_size": 1, "pooled": 2, "resurfaced": 3, "reengaged": 4, "reengagement_answered": 2,
        "reengagement_accepted": 1, "acceptance_rate": 0.5,
        # fast track 1, 2, 4 days: median 2, p90 (nearest rank 3 of 3) 4; new 6, 8: median 7, p90 8
        "urgent_time_to_offer_days": {"fast_tracked": {"count": 3, "median": 2.0, "p90": 4.0},
                                      "new": {"count": 2, "median": 7.0, "p90": 8.0}},
    }


def test_talent_pool_report_of_nothing():
    empty = {k: [] for k in report_records()}
    assert talent_pool_report(empty, NOW) == {
        "pool_size": 0, "pooled": 0, "resurfaced": 0, "reengaged": 0, "reengagement_answered": 0,
        "reengagement_accepted": 0, "acceptance_rate": None,
        "urgent_time_to_offer_days": {"fast_tracked": {"count": 0, "median": None, "p90": None},
                                      "new": {"count": 0, "median": None, "p90": None}}}


def test_a_pool_entry_shows_the_pooling_division_profile_or_the_legacy_one():
    legacy = {"candidate_id": "c1", "name": "Legacy", "skills": ["cobol"], "hired": False}
    assert domain.with_division_profile(legacy, None) == legacy
    mine = domain.with_division_profile(legacy, {"name": "Ana", "skills": ["python"], "division": "retail"})
    assert (mine["name"], mine["skills"], mine["hired"]) == ("Ana", ["python"], False)
    assert legacy["name"] == "Legacy"  # not changed in place
    assert domain.profile_id("c1", "retail") == "c1|retail"


# --- stored match lists -------------------------------------------------------------------------------

def test_a_pool_change_can_change_a_list_only_if_on_it_or_able_to_rank_in_it():
    from services.talent_pool.domain import affected_lists, could_change_list, list_floor, skills_norm

    requisition = req()
    wanted = skills_norm(requisition)
    on_it = {"items": [{"candidate_id": "c_on"}], "skills_norm": wanted, "floor": None}
    full = {"items": [{"candidate_id": "c_on"}], "skills_norm": wanted, "floor": [True, 80]}
    strong, weak = entry("c_new", average=5.0), entry("c_new", skills=["python"], average=1.0)
    assert could_change_list(None, "c_on", on_it, NOW)  # left the pool while listed
    assert not could_change_list(None, "c_off", on_it, NOW)
    assert could_change_list(weak, "c_new", on_it, NOW)  # a list not full takes anyone sharing a skill
    assert not could_change_list(entry("c_new", skills=["cooking"]), "c_new", on_it, NOW)
    assert not could_change_list({**strong, "retain_until": NOW}, "c_new", on_it, NOW)  # past retain_until
    assert could_change_list(strong, "c_new", full, NOW) and not could_change_list(weak, "c_new", full, NOW)
    assert affected_lists({"c_new": weak}, [{"_id": "r1", **on_it}, {"_id": "r2", **full}], NOW) == ["r1"]
    # the floor is the last of a full list: has it every required skill, and its score
    items = find_matches(requisition, [entry(f"c{i}", average=i % 5) for i in range(60)], NOW)
    assert len(items) == 50 and list_floor(requisition, items) == [True, items[-1]["score"]]
    assert list_floor(requisition, items[:49]) is None


# --- the application projection -----------------------------------------------------------------------

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
RECEIVED = {"application_id": "app_1", "candidate_id": "c1", "requisition_id": "r1", "requisition_title": "Old",
            "division": "retail", "source": "referral", "received_at": T0, "consent": False, "reengagement_id": None}


def change(status, sequence, at, previous=None, **extra):
    return {"application_id": "app_1", "candidate_id": "c1", "requisition_id": "r1", "requisition_title": "New",
            "division": "retail", "source": "referral", "status": status, "previous_status": previous, "at": at,
            "sequence": sequence, "consent": True, "reengagement_id": None,
            "decision": {"outcome": "pass", "decided_at": at}, "interview": {"average": 4.0}, **extra}


def test_received_after_a_status_change_keeps_the_later_word_and_owes_the_pooling():
    app = domain.apply_status_change(None, change("declined", 6, T0 + timedelta(days=3), "offered"))
    assert (app["status"], app["candidate_id"], app["received_at"]) == ("declined", "c1", None)
    assert "pool_due" not in app  # no profile of the person yet: pooling waits for application_received
    app = domain.apply_received(app, RECEIVED)
    assert app["received_at"] == T0 and app["consent"] is True and app["requisition_title"] == "New"
    assert app["pool_due"] is True


def test_an_older_change_only_dates_the_first_offer():
    held = domain.apply_status_change(domain.apply_received(None, RECEIVED),
                                      change("accepted", 7, T0 + timedelta(days=4), "offered"))
    late = domain.apply_status_change(held, change("offered", 6, T0 + timedelta(days=3), "interviewed"))
    assert late == {**held, "offered_at": T0 + timedelta(days=3)}
    assert domain.apply_status_change(late, change("offered", 6, T0 + timedelta(days=3), "interviewed")) == late


def test_an_offer_owes_a_pooling_only_on_a_closed_or_unknown_requisition():
    app = domain.apply_received(None, RECEIVED)
    offer = change("offered", 5, T0 + timedelta(days=2), "interviewed")
    assert "pool_due" not in domain.apply_status_change(app, offer, requisition_closed=False)
    assert domain.apply_status_change(app, offer, requisition_closed=True)["pool_due"] is True
    refused = change("offered", 5, T0 + timedelta(days=2), "interviewed", consent=False)
    assert "pool_due" not in domain.apply_status_change(app, refused, requisition_closed=True)
