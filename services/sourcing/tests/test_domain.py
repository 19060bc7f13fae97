from datetime import UTC, datetime, timedelta

import pytest

from services.sourcing import domain
from services.sourcing.domain import (
    STAY,
    Next,
    after_approval,
    after_decision,
    after_interview_completed,
    after_interview_scheduled,
    after_screening,
    can_move,
    next_status_for_event,
)
from shared.contracts.commands import CandidateIn, NewApplication
from shared.contracts.common import AppStatus
from shared.contracts.events import (
    ApplicationScreened,
    ApprovalStep,
    ApprovalStepDecided,
    DecisionInfo,
    DecisionRecorded,
    InterviewCancelled,
    InterviewCompleted,
    InterviewDetails,
    InterviewScheduled,
    InterviewSummary,
    ScreeningResult,
)
from shared.crypto import is_sealed, lookup, open_sealed
from shared.errors import Conflict

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ALL = [s.value for s in AppStatus]
NON_TERMINAL = [s for s in ALL if s not in domain.TERMINAL]


def result(passed=True, override=None, score=80):
    return ScreeningResult(passed=passed, score=score, match=75, matched_skills=["Coffee"], missing_skills=[],
                           reasons=["Has all 1 required skill: Coffee."], override=override)


def summary(**kw):
    base = dict(interview_id="int_1", average=4.25, by_competency={"coffee": 4.25},
                recommendations={"yes": 2}, discrepancy={"flagged": False, "competencies": [], "spread": {}},
                highlights=["great latte"], completed_at=T0)
    base.update(kw)
    return InterviewSummary(**base)


def app(status="received", **kw):
    base = dict(_id="app_1", candidate_id="cand_1", requisition_id="req_1", requisition_title="Barista",
                division="retail", department="stores", tier="basic", urgent=False, source="referral",
                talent_pool_consent=True, status=status, screening=None, interview=None, decision=None,
                reengagement_id=None, timeline=[domain.timeline_entry(T0, status, "Applied via referral")],
                created_at=T0, updated_at=T0)
    base.update(kw)
    return base


# -- the machine ---------------------------------------------------------------------------------------

EXPECTED = {
    ("received", "shortlisted"), ("received", "screened_out"),
    ("shortlisted", "interviewing"),
    ("interviewing", "interviewed"),
    # the interviews issue: a cancelled interview goes back; a fail decision at any stage from shortlisted
    ("interviewing", "shortlisted"), ("shortlisted", "rejected"), ("interviewing", "rejected"),
    ("interviewed", "awaiting_approval"), ("interviewed", "offered"), ("interviewed", "rejected"),
    ("awaiting_approval", "offered"), ("awaiting_approval", "rejected"),
    ("offered", "accepted"), ("offered", "declined"),
    ("accepted", "hired"), ("accepted", "no_show"),
} | {(s, "withdrawn") for s in NON_TERMINAL}


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("new", ALL)
def test_ordinary_transitions_are_exactly_the_machine(current, new):
    assert can_move(current, new) is ((current, new) in EXPECTED)


def test_shortlisted_and_screened_out_swap_only_by_override():
    assert not can_move("shortlisted", "screened_out")
    assert not can_move("screened_out", "shortlisted")
    assert can_move("shortlisted", "screened_out", override=True)
    assert can_move("screened_out", "shortlisted", override=True)
    # an override opens no other door
    assert not can_move("interviewing", "screened_out", override=True)
    assert not can_move("rejected", "shortlisted", override=True)


def test_terminal_statuses_and_screened_out_is_not_one():
    assert domain.TERMINAL == {"rejected", "declined", "hired", "no_show", "withdrawn"}
    assert not domain.is_terminal("screened_out")
    assert can_move("screened_out", "withdrawn")
    for t in domain.TERMINAL:
        assert not any(can_move(t, s, override=True) for s in ALL)


def test_move_appends_timeline_and_refuses_illegal_moves():
    a = app("received")
    previous = domain.move(a, "shortlisted", "Screening passed", T0)
    assert previous == "received" and a["status"] == "shortlisted"
    assert a["timeline"][-1] == {"at": T0, "status": "shortlisted", "detail": "Screening passed"}
    with pytest.raises(Conflict) as exc:
        domain.move(a, "offered", "skip ahead", T0)
    assert exc.value.code == "invalid_transition"
    assert a["status"] == "shortlisted" and len(a["timeline"]) == 2


# -- next status per event ---------------------------------------------------------------------------

def test_screening_moves_a_received_application_by_verdict():
    assert after_screening("received", result(True)) == Next("shortlisted")
    assert after_screening("received", result(False)) == Next("screened_out")


def test_machine_verdict_after_screening_only_stores():
    assert after_screening("shortlisted", result(False)) == STAY
    assert after_screening("screened_out", result(True)) == STAY
    assert after_screening("interviewing", result(True, override={"by": "m"})) == STAY


def test_override_swaps_shortlisted_and_screened_out():
    o = {"by": "maria", "reason": "referral", "at": "2026-01-01T00:00:00Z"}
    assert after_screening("screened_out", result(True, o)) == Next("shortlisted")
    assert after_screening("shortlisted", result(False, o)) == Next("screened_out")
    assert after_screening("shortlisted", result(True, o)) == STAY  # already there
    assert after_screening("received", result(False, o)) == Next("screened_out")
    assert after_screening("withdrawn", result(True, o)) == STAY


def test_interview_events():
    assert after_interview_scheduled("shortlisted") == Next("interviewing")
    assert after_interview_scheduled("received").wait  # the screening result is still on its way
    assert after_interview_scheduled("withdrawn") == STAY
    assert after_interview_completed("interviewing") == Next("interviewed")
    assert after_interview_completed("shortlisted").wait  # scheduled event not applied yet
    assert after_interview_completed("interviewed") == STAY  # repeated
    assert after_interview_completed("withdrawn") == STAY


@pytest.mark.parametrize("target", ["awaiting_approval", "offered", "rejected"])
def test_decision_moves_interviewed_to_its_next_status(target):
    assert after_decision("interviewed", target) == Next(target)
    if target == "rejected":  # a fail at any stage from shortlisted (the interviews issue)
        assert after_decision("interviewing", target) == Next("rejected")
        assert after_decision("shortlisted", target) == Next("rejected")
        assert after_decision("received", target).wait
    else:
        assert after_decision("interviewing", target).wait
        assert after_decision("shortlisted", target).wait
    assert after_decision(target, target) == STAY
    assert after_decision("withdrawn", target) == STAY


def cancelled_event(interview_id="int_1", by_rejection=False):
    details = InterviewDetails(interview_id=interview_id, application_id="app_1", division="retail",
                               status="cancelled", interviewers=["ann"])
    return InterviewCancelled(interview_id=interview_id, application_id="app_1", division="retail", reason="moved",
                              by_rejection=by_rejection, cancelled_by="rita", cancelled_at=T0, interview=details)


def test_a_cancelled_interview_moves_its_application_back_to_shortlisted_once():
    a = app("interviewing")
    assert domain.record_interview(a, "int_1") is True
    event = cancelled_event()
    assert domain.next_status_for_event("interview_cancelled", "interviewing", event, a) == Next("shortlisted")
    domain.record_cancellation(a, "int_1")
    # A late scheduling of the cancelled interview is stale: it must not move the application again.
    assert domain.record_interview(a, "int_1") is False
    # Cancelled with a rejection: the decision moves it, not the cancellation.
    assert domain.next_status_for_event("interview_cancelled", "interviewing", cancelled_event(by_rejection=True),
                                        a) == STAY


def test_a_cancellation_waits_for_its_scheduling_and_ignores_an_older_interview():
    fresh = app("shortlisted")
    assert domain.next_status_for_event("interview_cancelled", "shortlisted", cancelled_event(), fresh).wait
    a = app("interviewing")
    domain.record_interview(a, "int_1")
    domain.record_interview(a, "int_2")  # scheduled again before the first cancellation arrived
    assert domain.next_status_for_event("interview_cancelled", "interviewing", cancelled_event("int_1"), a) == STAY
    assert domain.next_status_for_event("interview_cancelled", "interviewing", cancelled_event("int_2"),
                                        a) == Next("shortlisted")


def test_decision_to_a_status_it_cannot_give_is_refused():
    with pytest.raises(ValueError):
        after_decision("interviewed", "hired")


def test_approval_chain():
    assert after_approval("awaiting_approval", "approved_all") == Next("offered")
    assert after_approval("awaiting_approval", "rejected") == Next("rejected")
    assert after_approval("awaiting_approval", "pending") == STAY
    assert after_approval("interviewed", "approved_all").wait
    assert after_approval("interviewed", "pending") == STAY
    assert after_approval("offered", "approved_all") == STAY
    with pytest.raises(ValueError):
        after_approval("awaiting_approval", "maybe")


def test_next_status_for_event_dispatches_on_payloads():
    screened = ApplicationScreened(application_id="a", requisition_id="r", division="d", result=result(False))
    assert next_status_for_event("application_screened", "received", screened) == Next("screened_out")
    sched = InterviewScheduled(interview_id="i", application_id="a", division="d", interviewers=["x"],
                               competencies=["c"], scheduled_at=T0)
    assert next_status_for_event("interview_scheduled", "shortlisted", sched) == Next("interviewing")
    done = InterviewCompleted(application_id="a", division="d", summary=summary())
    assert next_status_for_event("interview_completed", "interviewing", done) == Next("interviewed")
    dec = DecisionRecorded(application_id="a", division="d", tier="core",
                           decision=DecisionInfo(outcome="pass", decided_at=T0), next_status="awaiting_approval")
    assert next_status_for_event("decision_recorded", "interviewed", dec) == Next("awaiting_approval")
    step = ApprovalStep(id="s", step=2, role="admin", status="approved", expected_by=T0)
    appr = ApprovalStepDecided(application_id="a", division="d", step=step, chain_status="approved_all")
    assert next_status_for_event("approval_step_decided", "awaiting_approval", appr) == Next("offered")
    with pytest.raises(ValueError):
        next_status_for_event("notice_sent", "received", appr)


def test_every_proposed_move_is_legal():
    o = {"by": "m", "at": "x"}
    events = [lambda s: after_screening(s, result(True)), lambda s: after_screening(s, result(False)),
              lambda s: after_screening(s, result(True, o)), lambda s: after_screening(s, result(False, o)),
              after_interview_scheduled, after_interview_completed,
              *[lambda s, t=t: after_decision(s, t) for t in domain.DECISION_TARGETS],
              lambda s: after_approval(s, "approved_all"), lambda s: after_approval(s, "rejected")]
    for status in ALL:
        for ev in events:
            step = ev(status)
            if step.status:
                assert can_move(status, step.status, override=True), (status, step)


def test_stale_machine_verdict_never_replaces_an_override():
    o1 = {"by": "m", "reason": "r", "at": "2026-01-01T00:00:00Z"}
    o2 = {"by": "k", "reason": "r", "at": "2026-01-02T00:00:00Z"}
    assert domain.keep_screening(None, result())
    assert domain.keep_screening({"passed": True}, result(False))
    assert not domain.keep_screening({"override": o1}, result(False))
    assert domain.keep_screening({"override": o1}, result(False, o2))
    assert not domain.keep_screening({"override": o2}, result(True, o1))


# -- commands ----------------------------------------------------------------------------------------

def test_outcomes():
    assert domain.outcome_status("accepted", "hired") == "hired"
    assert domain.outcome_status("accepted", "no_show") == "no_show"
    for status in ("offered", "interviewed", "received"):
        with pytest.raises(Conflict) as exc:
            domain.outcome_status(status, "hired")
        assert exc.value.code == "invalid_transition"
    for status in NON_TERMINAL:
        assert domain.outcome_status(status, "withdrawn") == "withdrawn"
    for status in domain.TERMINAL:
        with pytest.raises(Conflict):
            domain.outcome_status(status, "withdrawn")


def test_candidate_response_only_from_offered():
    assert domain.response_status("offered", "accept") == "accepted"
    assert domain.response_status("offered", "decline") == "declined"
    for status in ("accepted", "declined", "awaiting_approval"):
        with pytest.raises(Conflict) as exc:
            domain.response_status(status, "accept")
        assert exc.value.code == "invalid_status"


def test_confirmation_only_for_offered_or_accepted():
    domain.check_confirmable("offered")
    domain.check_confirmable("accepted")
    with pytest.raises(Conflict) as exc:
        domain.check_confirmable("interviewed")
    assert exc.value.code == "invalid_status"


def test_unknown_answers_are_named():
    qs = [{"id": "permit", "question": "Work permit?", "required_answer": True}]
    assert domain.unknown_answers({"permit": True}, qs) == []
    assert domain.unknown_answers({"permit": True, "car": False}, qs) == ["car"]
    assert domain.unknown_answers({"x": True}, []) == ["x"]


def test_fast_track_reuses_the_prior_interview():
    a = app("received", timeline=[domain.timeline_entry(T0, "received", domain.FAST_TRACK_RECEIVED)])
    reused = domain.reused_interview(summary().model_dump(mode="json"), "app_old")
    assert reused["reused_from_application_id"] == "app_old" and reused["average"] == 4.25
    previous = domain.start_with_reused_interview(a, reused, "app_old", T0)
    assert previous == "received" and a["status"] == "interviewed" and a["interview"] is reused
    assert [e["status"] for e in a["timeline"]] == ["received", "interviewed"]
    assert a["timeline"][0]["detail"] == "Re-engaged from the talent pool"
    assert a["timeline"][1]["detail"] == "Prior interview from application app_old reused (fast track)"
    with pytest.raises(Conflict):
        domain.start_with_reused_interview(a, reused, "app_old", T0)


# -- candidates: normalisation and dedup ---------------------------------------------------------------

def test_email_key_ignores_case_and_surrounding_whitespace():
    assert domain.candidate_key("  Ann.Lee@Example.COM ") == domain.candidate_key("ann.lee@example.com")
    assert domain.candidate_key("ann.lee@example.com") != domain.candidate_key("ann.le@example.com")


def test_emails_from_requests_dedup_to_one_key():
    a = CandidateIn(name="Ann", email=" Ann.Lee@Example.com ", years_experience=2)
    b = CandidateIn(name="Ann", email="ann.lee@EXAMPLE.COM", years_experience=2)
    key = domain.candidate_key(a.email)
    assert key == domain.candidate_key(b.email) == lookup("ann.lee@example.com")
    assert "email_key" not in domain.profile_update(a)  # the identity is not part of a division's profile
    assert "ann" not in key  # a keyed hash, not the address


def test_profile_update_seals_email_and_phone():
    u = domain.profile_update(CandidateIn(name="Ann", email="Ann@example.com", years_experience=2, phone="+1 555 0100"))
    assert is_sealed(u["email"]) and is_sealed(u["phone"])
    assert (open_sealed(u["email"]), open_sealed(u["phone"])) == ("Ann@example.com", "+1 555 0100")
    snapshot = domain.candidate_snapshot({**u, "_id": "c1"})
    assert (snapshot.email, snapshot.phone) == (u["email"], u["phone"])  # events carry them sealed


def test_skills_dedup_case_insensitively_after_trimming():
    c = CandidateIn(name="A", email="a@example.com", years_experience=1,
                    skills=["Python", " python ", "Customer  Service", "customer service", "SQL"])
    assert c.skills == ["Python", "Customer Service", "SQL"]
    assert domain.skill_keys(c.skills) == ["python", "customer service", "sql"]
    assert domain.skill_keys(["Go", " GO", "go "]) == ["go"]


def test_profile_update_latest_wins_but_omitted_optionals_keep_stored_values():
    given = CandidateIn(name="Ann", email="a@example.com", years_experience=3, phone="+1 555 0100", location=None,
                        skills=["SQL"])
    u = domain.profile_update(given)
    assert open_sealed(u["phone"]) == "+1 555 0100" and "location" in u and u["location"] is None
    assert u["skills"] == ["SQL"] and u["years_experience"] == 3 and u["name"] == "Ann"
    omitted = domain.profile_update(CandidateIn(name="Ann", email="a@example.com", years_experience=3))
    assert "phone" not in omitted and "location" not in omitted


# -- candidates per division (docs/decisions/002) ------------------------------------------------------

T1 = T0 + timedelta(hours=1)


def _update(**kw):
    return domain.profile_update(CandidateIn(**{"email": "a@example.com", "years_experience": 3, **kw}))


def test_a_division_profile_starts_from_its_own_stored_one_and_the_application_wins():
    first = domain.division_profile("c1", "alpha", None, None, _update(name="Ann", phone="+1 555", location="Leeds"),
                                    T0)
    assert first["_id"] == domain.profile_id("c1", "alpha") == "c1|alpha"
    assert (first["candidate_id"], first["division"], first["name"], first["location"]) == ("c1", "alpha", "Ann",
                                                                                          "Leeds")
    assert first["created_at"] == first["updated_at"] == T0
    again = domain.division_profile("c1", "alpha", first, None, _update(name="Ann B", skills=["SQL"]), T1)
    assert (again["name"], open_sealed(again["phone"]), again["location"], again["skills"]) == (
        "Ann B", "+1 555", "Leeds", ["SQL"])  # left out: kept; given: replaced
    assert (again["created_at"], again["updated_at"]) == (T0, T1)
    nulled = domain.division_profile("c1", "alpha", again, None, _update(name="Ann", phone=None), T1)
    assert nulled["phone"] is None


def test_another_division_profile_never_starts_from_a_different_division():
    alpha = domain.division_profile("c1", "alpha", None, None, _update(name="Ann", phone="+1 555", location="Leeds"),
                                    T0)
    beta = domain.division_profile("c1", "beta", None, None, _update(name="Other"), T1)
    assert beta["name"] == "Other" and "phone" not in beta and "location" not in beta
    assert alpha["name"] == "Ann"  # a new dict: nothing shared


def test_a_legacy_candidate_gives_the_starting_values_until_the_division_has_its_own():
    legacy_doc = {"_id": "c1", "email_key": "h1:x", **_update(name="Old", phone="+9 999", location="Oslo"),
                  "created_at": T0}
    legacy = domain.legacy_profile(legacy_doc)
    assert legacy["name"] == "Old" and set(legacy) == set(domain.PROFILE_FIELDS)
    assert domain.legacy_profile({"_id": "c1", "email_key": "h1:x"}) is None  # stored since: identity only
    assert domain.legacy_profile({**legacy_doc, "erasure_id": "era_1"}) is None
    mine = domain.division_profile("c1", "alpha", None, legacy, _update(name="New"), T1)
    assert (mine["name"], open_sealed(mine["phone"]), mine["location"]) == ("New", "+9 999", "Oslo")
    assert "email_key" not in mine and "_id" in mine and mine["_id"] == "c1|alpha"


def test_a_reader_sees_the_latest_of_the_profiles_it_may_see_or_the_legacy_one():
    a = {"_id": "c1|alpha", "name": "A", "updated_at": T0}
    b = {"_id": "c1|beta", "name": "B", "updated_at": T1}
    assert domain.profile_for_view([a], None)["name"] == "A"
    assert domain.profile_for_view([a, b], None)["name"] == "B"
    assert domain.profile_for_view([], {"name": "L"})["name"] == "L"
    assert domain.profile_for_view([a], {"name": "L"})["name"] == "A"
    assert domain.profile_for_view([], None) is None


def test_new_application_answers_are_booleans():
    with pytest.raises(ValueError):
        NewApplication(requisition_id="r", source="web", answers={"permit": "yes"},
                       candidate={"name": "A", "email": "a@example.com", "years_experience": 1})


# -- snapshots -----------------------------------------------------------------------------------------

def test_status_changed_snapshot_carries_no_personal_data():
    a = app("interviewed", interview=summary().model_dump(mode="json"),
            screening=result().model_dump(mode="json"))
    a["timeline"].append(domain.timeline_entry(T0, "interviewed", "Interview complete: average 4.25"))
    ev = domain.status_changed(a, "interviewing")
    dumped = ev.model_dump(mode="json")
    assert dumped["previous_status"] == "interviewing" and dumped["status"] == "interviewed"
    assert dumped["sequence"] == 2  # its place in the timeline: projections order changes by it
    assert dumped["detail"] == "Interview complete: average 4.25"
    assert dumped["interview"]["average"] == 4.25 and dumped["screening"]["score"] == 80
    assert not {"name", "email", "phone", "candidate"} & set(dumped)


def test_details_read_well():
    assert domain.received_detail("LinkedIn") == "Applied via LinkedIn"
    assert domain.confirmation_detail("unreachable") == "HR phone confirmation: unreachable"
    assert domain.screening_detail(result(True)) == "Screening passed: score 80, match 75%"
    assert domain.screening_detail(result(False, {"by": "maria", "reason": "typo in CV"})) == (
        "Screening overridden by maria: screened out (typo in CV)")
    assert domain.decision_detail(DecisionInfo(outcome="pass", decided_by="hr1", decided_at=T0), "offered") == (
        "Decision: pass by hr1; offer made")


# ----------------------------------------------------------------------------------------------------
# reports: a hand-computed history

H = 3600


def history(app_id, tier, source, steps, division="retail", requisition_id="req_1"):
    """An application whose timeline is `steps`: (status, hours after T0)."""
    from datetime import timedelta

    timeline = [domain.timeline_entry(T0 + timedelta(hours=h), s, "") for s, h in steps]
    return {"_id": app_id, "division": division, "requisition_id": requisition_id,
            "requisition_title": f"Title of {requisition_id}", "tier": tier, "source": source,
            "status": steps[-1][0], "timeline": timeline, "created_at": T0}


HISTORY = [
    history("a1", "basic", "referral", [("received", 0), ("shortlisted", 1), ("interviewing", 3), ("interviewed", 7),
                                        ("offered", 8), ("accepted", 20), ("hired", 44)]),
    history("a2", "basic", "web", [("received", 0), ("screened_out", 0.5)]),
    history("a3", "basic", "web", [("received", 0), ("shortlisted", 2), ("interviewing", 3), ("interviewed", 5),
                                   ("rejected", 6)]),
    history("a4", "core", "referral", [("received", 0), ("shortlisted", 1), ("interviewing", 2), ("interviewed", 4),
                                       ("awaiting_approval", 5), ("offered", 29), ("declined", 30)],
            requisition_id="req_2"),
    # fast track: starts at interviewed with a reused interview
    history("a5", "core", "talent_pool", [("received", 0), ("interviewed", 0), ("awaiting_approval", 2),
                                          ("offered", 26), ("accepted", 27), ("no_show", 50)], requisition_id="req_2"),
]


def stages_by_status(rows):
    return {r["status"]: r for r in rows}


def test_reaching_a_stage_implies_the_earlier_ones_of_the_applications_own_path():
    assert domain.reached_stages(HISTORY[4]) == {"received", "shortlisted", "interviewing", "interviewed",
                                                 "awaiting_approval", "offered", "accepted"}
    assert "awaiting_approval" not in domain.reached_stages(HISTORY[0])  # a basic offer skips approval
    assert domain.reached_stages(HISTORY[1]) == {"received"}
    overridden = history("a6", "basic", "web", [("received", 0), ("screened_out", 1), ("shortlisted", 2)])
    assert domain.reached_stages(overridden) == {"received", "shortlisted"}


def test_funnel_reached_conversion_drop_off_and_median_time_in_stage():
    [group] = domain.funnel_report(HISTORY)
    assert group["division"] == "retail" and group["applications"] == 5 and "requisition_id" not in group
    rows = stages_by_status(group["stages"])
    assert [r["status"] for r in group["stages"]] == list(domain.FUNNEL_STAGES)
    assert {s: r["reached"] for s, r in rows.items()} == {
        "received": 5, "shortlisted": 4, "interviewing": 4, "interviewed": 4, "awaiting_approval": 2,
        "offered": 3, "accepted": 2, "hired": 1}
    assert rows["received"]["conversion"] is None and rows["received"]["drop_off"] is None
    assert (rows["shortlisted"]["conversion"], rows["shortlisted"]["drop_off"]) == (0.8, 0.2)
    assert rows["interviewing"]["conversion"] == 1.0 and rows["interviewed"]["conversion"] == 1.0
    assert rows["awaiting_approval"]["conversion"] == 1.0  # 2 core at awaiting / 2 core at interviewed
    # offered over basic at interviewed (a1, a3) plus core at awaiting_approval (a4, a5): 3 / 4
    assert (rows["offered"]["conversion"], rows["offered"]["drop_off"]) == (0.75, 0.25)
    assert (rows["accepted"]["conversion"], rows["accepted"]["drop_off"]) == (0.6667, 0.3333)
    assert rows["hired"]["conversion"] == 0.5
    assert {s: r["median_seconds_in_stage"] for s, r in rows.items()} == {
        "received": 1 * H, "shortlisted": 1 * H, "interviewing": 2 * H, "interviewed": 1 * H,
        "awaiting_approval": 24 * H, "offered": 1 * H, "accepted": 23.5 * H, "hired": None}
    assert group["exits"] == {"screened_out": 1, "rejected": 1, "declined": 1, "no_show": 1, "withdrawn": 0}


def test_funnel_of_basic_roles_only_skips_the_approval_stage():
    [group] = domain.funnel_report(HISTORY[:3])
    rows = stages_by_status(group["stages"])
    assert rows["awaiting_approval"]["reached"] == 0 and rows["awaiting_approval"]["conversion"] is None
    assert rows["offered"]["conversion"] == 0.5  # 1 offer from 2 interviewed
    assert rows["hired"]["conversion"] == 1.0


def test_funnel_by_requisition_and_empty():
    groups = domain.funnel_report(HISTORY, "requisition")
    assert [(g["requisition_id"], g["requisition_title"], g["applications"]) for g in groups] == [
        ("req_1", "Title of req_1", 3), ("req_2", "Title of req_2", 2)]
    assert domain.funnel_report([]) == []
    [empty] = domain.funnel_stages([])[:1]
    assert empty == {"status": "received", "reached": 0, "conversion": None, "drop_off": None,
                     "median_seconds_in_stage": None}
    with pytest.raises(ValueError):
        domain.funnel_report(HISTORY, "source")


def test_time_to_hire_per_division_and_tier():
    basic, core = domain.time_to_hire_report(HISTORY)
    assert basic == {"division": "retail", "tier": "basic", "applications": 3, "offers": 1, "hires": 1,
                     "to_offer_days": {"median": 0.333, "p90": 0.333}, "to_hire_days": {"median": 1.833, "p90": 1.833}}
    # offers after 29 h and 26 h: median 27.5 h = 1.146 days; p90 by nearest rank is the slower one, 29 h
    assert core == {"division": "retail", "tier": "core", "applications": 2, "offers": 2, "hires": 0,
                    "to_offer_days": {"median": 1.146, "p90": 1.208}, "to_hire_days": {"median": None, "p90": None}}
    assert domain.time_to_hire_report([]) == []


def test_sources_counts_and_rates():
    items = {i["source"]: i for i in domain.sources_report(HISTORY)}
    assert list(items) == ["referral", "talent_pool", "web"]
    assert items["referral"] == {"source": "referral", "applications": 2, "shortlisted": 2, "interviewed": 2,
                                 "offers": 2, "hires": 1, "shortlist_rate": 1.0, "offer_rate": 1.0, "hire_rate": 0.5}
    assert items["talent_pool"]["shortlisted"] == 1 and items["talent_pool"]["hire_rate"] == 0.0
    assert items["web"] == {"source": "web", "applications": 2, "shortlisted": 1, "interviewed": 1, "offers": 0,
                            "hires": 0, "shortlist_rate": 0.5, "offer_rate": 0.0, "hire_rate": 0.0}
    assert domain.sources_report([]) == []
