from datetime import UTC, datetime, timedelta

import pytest

from services.interview_feedback import domain
from services.interview_feedback.domain import (
    approval_steps,
    canonical_ratings,
    chain_status,
    check_approval,
    check_scorecard_author,
    decide_approval,
    discrepancy,
    merge_highlights,
    next_pending,
    next_status,
    on_panel,
    panel_complete,
    recommendation_counts,
    summarize,
    validate_scorecard,
    visible_scorecards,
)
from shared.errors import Conflict, Forbidden, Invalid

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SLA = 3600
COMPETENCIES = ["Python", "Communication", "System Design"]


def card(interviewer, ratings, recommendation="yes", highlights=()):
    return {"interviewer": interviewer, "ratings": ratings, "recommendation": recommendation,
            "highlights": list(highlights)}


def interview(**kw):
    base = {"interviewers": ["ann", "bob"], "competencies": COMPETENCIES}
    base.update(kw)
    return base


# ----------------------------------------------------------------------------------------------------
# scorecard validation


def test_ratings_covering_every_competency_are_accepted_in_interview_order():
    got = canonical_ratings(COMPETENCIES, {"System Design": 3, "Python": 5, "Communication": 4})
    assert got == {"Python": 5, "Communication": 4, "System Design": 3}
    assert list(got) == COMPETENCIES


def test_ratings_compare_competencies_like_skills_and_keep_the_interview_spelling():
    got = canonical_ratings(COMPETENCIES, {" python ": 5, "COMMUNICATION": 4, "system  design": 3})
    assert got == {"Python": 5, "Communication": 4, "System Design": 3}


def test_missing_competency_is_invalid_ratings_naming_it():
    with pytest.raises(Invalid) as exc:
        canonical_ratings(COMPETENCIES, {"Python": 5, "Communication": 4})
    assert exc.value.field == "ratings"
    assert "System Design" in exc.value.message
    assert "Python" not in exc.value.message.split("missing")[1]


def test_unknown_competency_is_invalid_ratings_naming_it():
    with pytest.raises(Invalid) as exc:
        canonical_ratings(COMPETENCIES, {"Python": 5, "Communication": 4, "System Design": 3, "Golf": 2})
    assert exc.value.field == "ratings"
    assert "'Golf'" in exc.value.message


def test_competency_rated_twice_under_two_spellings_is_invalid():
    with pytest.raises(Invalid) as exc:
        canonical_ratings(["Python"], {"Python": 5, "python": 1})
    assert exc.value.field == "ratings" and "more than once" in exc.value.message


def test_interviewer_key_may_submit_only_for_itself():
    with pytest.raises(Forbidden):
        check_scorecard_author("interviewer", "ann", "bob", ["ann", "bob"])
    check_scorecard_author("interviewer", "ann", "ann", ["ann", "bob"])


@pytest.mark.parametrize("role", ["recruiter", "hr", "admin", "system"])
def test_other_roles_may_submit_for_any_panel_member(role):
    check_scorecard_author(role, "maria", "bob", ["ann", "bob"])


def test_author_must_be_on_the_panel():
    with pytest.raises(Invalid) as exc:
        check_scorecard_author("hr", "maria", "carl", ["ann", "bob"])
    assert exc.value.field == "interviewer" and "carl" in exc.value.message


def test_forbidden_comes_before_panel_check_for_an_interviewer_key():
    with pytest.raises(Forbidden):
        check_scorecard_author("interviewer", "ann", "carl", ["ann", "bob"])


def test_validate_scorecard_checks_author_then_ratings():
    assert validate_scorecard(interview(), "interviewer", "ann", "ann",
                              {"python": 4, "communication": 4, "system design": 2}) == {
        "Python": 4, "Communication": 4, "System Design": 2}
    with pytest.raises(Invalid) as exc:
        validate_scorecard(interview(), "hr", "maria", "zed", {"Python": 1})
    assert exc.value.field == "interviewer"
    with pytest.raises(Invalid) as exc:
        validate_scorecard(interview(), "hr", "maria", "ann", {"Python": 1})
    assert exc.value.field == "ratings"


def test_panel_complete_only_when_every_member_submitted():
    assert not panel_complete(["ann", "bob"], [])
    assert not panel_complete(["ann", "bob"], ["ann"])
    assert panel_complete(["ann", "bob"], ["bob", "ann"])


# ----------------------------------------------------------------------------------------------------
# visibility


def test_interviewer_key_sees_only_panels_it_sits_on():
    assert on_panel("interviewer", "ann", ["ann", "bob"])
    assert not on_panel("interviewer", "carl", ["ann", "bob"])
    assert on_panel("recruiter", "carl", ["ann", "bob"])
    assert on_panel("hr", "carl", ["ann", "bob"])


def test_interviewer_sees_no_other_card_and_no_summary_before_submitting():
    cards = [card("bob", {"Python": 2})]
    visible, summary = visible_scorecards("interviewer", "ann", cards)
    assert visible == [] and summary is False


def test_interviewer_sees_every_card_and_the_summary_after_submitting():
    cards = [card("bob", {"Python": 2}), card("ann", {"Python": 4})]
    visible, summary = visible_scorecards("interviewer", "ann", cards)
    assert visible == cards and summary is True


def test_interviewer_sees_only_own_card_when_it_alone_submitted_not_others():
    # ann submitted; carl (also on the panel) has not: carl sees nothing, ann sees her card
    cards = [card("ann", {"Python": 4})]
    assert visible_scorecards("interviewer", "carl", cards) == ([], False)
    assert visible_scorecards("interviewer", "ann", cards) == (cards, True)


@pytest.mark.parametrize("role", ["recruiter", "hr", "admin", "system"])
def test_other_roles_see_everything(role):
    cards = [card("bob", {"Python": 2})]
    assert visible_scorecards(role, "maria", cards) == (cards, True)


# ----------------------------------------------------------------------------------------------------
# summary


def test_no_scorecards_no_summary():
    assert summarize([], COMPETENCIES) is None


def test_summary_average_means_and_counts():
    cards = [
        card("ann", {"Python": 5, "Communication": 4, "System Design": 3}, "strong_yes"),
        card("bob", {"Python": 4, "Communication": 4, "System Design": 2}, "yes"),
    ]
    s = summarize(cards, COMPETENCIES)
    assert s["average"] == 3.67  # 22 / 6 = 3.666..
    assert s["by_competency"] == {"Python": 4.5, "Communication": 4.0, "System Design": 2.5}
    assert list(s["by_competency"]) == COMPETENCIES
    assert s["recommendations"] == {"strong_yes": 1, "yes": 1, "no": 0, "strong_no": 0}
    assert s["discrepancy"] == {"flagged": False, "competencies": [],
                                "spread": {"Python": 1, "Communication": 0, "System Design": 1}}


def test_summary_rounds_to_two_decimals():
    cards = [card("a", {"X": 1}), card("b", {"X": 1}), card("c", {"X": 2})]
    s = summarize(cards, ["X"])
    assert s["average"] == 1.33 and s["by_competency"] == {"X": 1.33}


def test_summary_of_one_card_has_zero_spread():
    s = summarize([card("ann", {"Python": 1, "Communication": 5})], ["Python", "Communication"])
    assert s["average"] == 3.0
    assert s["discrepancy"] == {"flagged": False, "competencies": [], "spread": {"Python": 0, "Communication": 0}}


def test_summary_counts_every_recommendation_kind():
    cards = [card("a", {"X": 1}, "strong_no"), card("b", {"X": 1}, "strong_no"), card("c", {"X": 2}, "no")]
    assert recommendation_counts(cards) == {"strong_yes": 0, "yes": 0, "no": 1, "strong_no": 2}
    assert recommendation_counts([]) == {"strong_yes": 0, "yes": 0, "no": 0, "strong_no": 0}


def test_discrepancy_spread_of_exactly_one_is_not_flagged():
    d = discrepancy({"Python": [3, 4], "Communication": [4, 4]})
    assert d == {"flagged": False, "competencies": [], "spread": {"Python": 1, "Communication": 0}}


def test_discrepancy_spread_of_exactly_two_is_flagged():
    d = discrepancy({"Python": [3, 5], "Communication": [4, 4]})
    assert d == {"flagged": True, "competencies": ["Python"], "spread": {"Python": 2, "Communication": 0}}


def test_discrepancy_uses_max_minus_min_across_many_cards_and_flags_each_competency():
    d = discrepancy({"A": [3, 4, 1, 3], "B": [5, 1], "C": [2, 3, 3]})
    assert d["spread"] == {"A": 3, "B": 4, "C": 1}
    assert d["competencies"] == ["A", "B"] and d["flagged"] is True


def test_summary_flags_discrepancy_between_cards():
    cards = [card("ann", {"Python": 5, "Communication": 2}), card("bob", {"Python": 3, "Communication": 3})]
    s = summarize(cards, ["Python", "Communication"])
    assert s["discrepancy"]["flagged"] is True
    assert s["discrepancy"]["competencies"] == ["Python"]
    assert s["discrepancy"]["spread"] == {"Python": 2, "Communication": 1}


def test_summary_without_competency_list_uses_the_cards():
    s = summarize([card("ann", {"B": 2, "A": 4})])
    assert s["by_competency"] == {"B": 2.0, "A": 4.0} and s["average"] == 3.0


def test_highlights_are_merged_once_in_order():
    cards = [card("ann", {"X": 1}, highlights=["Clear thinker", "Great SQL"]),
             card("bob", {"X": 1}, highlights=["great  sql", "Mentors others"])]
    assert merge_highlights(cards) == ["Clear thinker", "Great SQL", "Mentors others"]
    assert merge_highlights([card("ann", {"X": 1})]) == []


# ----------------------------------------------------------------------------------------------------
# decisions


def test_next_status_from_a_decision():
    assert next_status("fail", "basic") == "rejected"
    assert next_status("fail", "core") == "rejected"
    assert next_status("pass", "basic") == "offered"
    assert next_status("pass", "core") == "awaiting_approval"


def test_next_status_refuses_unknown_values():
    with pytest.raises(Conflict) as exc:
        next_status("pass", "platinum")
    assert exc.value.code == "unknown_tier"
    with pytest.raises(Invalid):
        next_status("maybe", "basic")


def test_approval_steps_hr_then_admin_with_sla_based_expectations():
    steps = approval_steps(["apr_1", "apr_2"], NOW, SLA)
    assert steps == [
        {"id": "apr_1", "step": 1, "role": "hr", "status": "pending", "expected_by": NOW + timedelta(hours=1),
         "decided_at": None, "decided_by": None, "note": None},
        {"id": "apr_2", "step": 2, "role": "admin", "status": "pending", "expected_by": NOW + timedelta(hours=2),
         "decided_at": None, "decided_by": None, "note": None},
    ]


def test_approval_steps_need_one_id_per_step():
    with pytest.raises(ValueError):
        approval_steps(["apr_1"], NOW, SLA)


# ----------------------------------------------------------------------------------------------------
# approvals


def chain():
    return approval_steps(["apr_1", "apr_2"], NOW, SLA)


def test_step_one_is_decided_by_hr():
    later = NOW + timedelta(minutes=30)
    out = decide_approval(chain(), "apr_1", "hr", "helen", "approve", "fine", later, SLA)
    assert out["step"]["status"] == "approved"
    assert out["step"]["decided_by"] == "helen" and out["step"]["decided_at"] == later
    assert out["step"]["note"] == "fine"
    assert out["chain_status"] == "pending"
    assert out["next_step"]["id"] == "apr_2"


def test_approving_step_one_rebases_step_two_expected_by():
    later = NOW + timedelta(minutes=30)
    out = decide_approval(chain(), "apr_1", "hr", "helen", "approve", None, later, SLA)
    assert out["next_step"]["expected_by"] == later + timedelta(seconds=SLA)
    assert out["steps"][1]["expected_by"] == later + timedelta(seconds=SLA)


def test_decide_approval_does_not_mutate_its_input():
    steps = chain()
    decide_approval(steps, "apr_1", "hr", "helen", "approve", None, NOW, SLA)
    assert steps == chain()


def test_last_approval_completes_the_chain():
    steps = decide_approval(chain(), "apr_1", "hr", "helen", "approve", None, NOW, SLA)["steps"]
    out = decide_approval(steps, "apr_2", "admin", "gina", "approve", None, NOW, SLA)
    assert out["chain_status"] == "approved_all"
    assert out["next_step"] is None
    assert [s["status"] for s in out["steps"]] == ["approved", "approved"]


def test_rejection_at_step_one_rejects_the_chain_with_no_next_step():
    out = decide_approval(chain(), "apr_1", "hr", "helen", "reject", "budget", NOW, SLA)
    assert out["step"]["status"] == "rejected"
    assert out["chain_status"] == "rejected"
    assert out["next_step"] is None
    # step 2 keeps its expectation; nobody will act on it
    assert out["steps"][1]["expected_by"] == NOW + timedelta(seconds=2 * SLA)


def test_rejection_at_step_two_rejects_the_chain():
    steps = decide_approval(chain(), "apr_1", "hr", "helen", "approve", None, NOW, SLA)["steps"]
    out = decide_approval(steps, "apr_2", "admin", "gina", "reject", None, NOW, SLA)
    assert out["chain_status"] == "rejected" and out["next_step"] is None


def test_step_two_before_step_one_is_out_of_order():
    with pytest.raises(Conflict) as exc:
        decide_approval(chain(), "apr_2", "admin", "gina", "approve", None, NOW, SLA)
    assert exc.value.code == "out_of_order"
    assert "step 1" in exc.value.message


def test_rejecting_out_of_order_is_also_refused():
    with pytest.raises(Conflict) as exc:
        decide_approval(chain(), "apr_2", "admin", "gina", "reject", None, NOW, SLA)
    assert exc.value.code == "out_of_order"


@pytest.mark.parametrize("role", ["admin", "recruiter", "interviewer"])
def test_step_one_by_the_wrong_role_is_forbidden(role):
    with pytest.raises(Forbidden):
        decide_approval(chain(), "apr_1", role, "x", "approve", None, NOW, SLA)


@pytest.mark.parametrize("role", ["hr", "recruiter", "interviewer"])
def test_step_two_by_the_wrong_role_is_forbidden(role):
    steps = decide_approval(chain(), "apr_1", "hr", "helen", "approve", None, NOW, SLA)["steps"]
    with pytest.raises(Forbidden):
        decide_approval(steps, "apr_2", role, "x", "approve", None, NOW, SLA)


def test_wrong_role_is_forbidden_even_when_out_of_order():
    with pytest.raises(Forbidden):
        check_approval(chain(), "apr_2", "hr")


def test_system_may_decide_any_step_in_order():
    steps = decide_approval(chain(), "apr_1", "system", "portal", "approve", None, NOW, SLA)["steps"]
    assert decide_approval(steps, "apr_2", "system", "portal", "approve", None, NOW, SLA)["chain_status"] == \
        "approved_all"


def test_deciding_a_step_twice_is_already_decided():
    steps = decide_approval(chain(), "apr_1", "hr", "helen", "approve", None, NOW, SLA)["steps"]
    with pytest.raises(Conflict) as exc:
        decide_approval(steps, "apr_1", "hr", "helen", "reject", None, NOW, SLA)
    assert exc.value.code == "already_decided"


def test_any_step_of_a_rejected_chain_is_already_decided():
    steps = decide_approval(chain(), "apr_1", "hr", "helen", "reject", None, NOW, SLA)["steps"]
    with pytest.raises(Conflict) as exc:
        decide_approval(steps, "apr_2", "admin", "gina", "approve", None, NOW, SLA)
    assert exc.value.code == "already_decided"


def test_unknown_decision_is_invalid():
    with pytest.raises(Invalid):
        decide_approval(chain(), "apr_1", "hr", "helen", "maybe", None, NOW, SLA)


def test_step_not_in_chain_is_a_programming_error():
    with pytest.raises(ValueError):
        check_approval(chain(), "apr_9", "hr")


def test_chain_status_and_next_pending():
    steps = chain()
    assert chain_status(steps) == "pending" and next_pending(steps)["step"] == 1
    steps[0]["status"] = "approved"
    assert chain_status(steps) == "pending" and next_pending(steps)["step"] == 2
    steps[1]["status"] = "approved"
    assert chain_status(steps) == "approved_all" and next_pending(steps) is None
    steps[1]["status"] = "rejected"
    assert chain_status(steps) == "rejected" and next_pending(steps) is None
    assert chain_status([]) == "pending"


def test_constants_match_the_api():
    assert domain.APPROVAL_ROLES == ("hr", "admin")
    assert domain.DISCREPANCY_POINTS == 2


def test_approval_queue_holds_each_chains_next_step_for_its_role_overdue_first():
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)

    def chain(app, s1, s2, due1, due2):
        return [{"id": f"{app}-{n}", "step": n, "role": role, "status": st, "expected_by": now + timedelta(hours=due)}
                for n, role, st, due in ((1, "hr", s1, due1), (2, "admin", s2, due2))]

    chains = {"a": chain("a", "pending", "pending", 5, 10),     # division HR reviewing
              "b": chain("b", "pending", "pending", -2, 3),     # division HR, overdue
              "c": chain("c", "approved", "pending", -9, 1),    # waiting for group HR
              "d": chain("d", "rejected", "pending", -9, -1),   # ended: in nobody's queue
              "e": chain("e", "approved", "approved", -9, -1)}  # done
    hr = domain.approval_queue(chains, "hr", now)
    assert [(q["id"], q["overdue"], q["can_decide"]) for q in hr] == [("b-1", True, True), ("a-1", False, True)]
    admin = domain.approval_queue(chains, "admin", now)
    assert [(q["id"], q["can_decide"]) for q in admin] == [("b-1", False), ("c-2", True), ("a-1", False)]
    assert domain.approval_queue({}, "hr", now) == []


# ----------------------------------------------------------------------------------------------------
# the interviewers report: three interviews, hand-computed figures


def rcard(interview_id, interviewer, craft, service, hours):
    return {"interview_id": interview_id, "interviewer": interviewer, "ratings": {"craft": craft, "service": service},
            "submitted_at": NOW + timedelta(hours=hours)}


REPORT_CARDS = [
    rcard("i1", "ana", 5, 4, 2), rcard("i1", "bo", 3, 4, 4),                               # craft 3..5: flagged
    rcard("i2", "ana", 5, 4, -1), rcard("i2", "bo", 4, 4, 1), rcard("i2", "cy", 3, 4, 3),  # bo in the middle
    rcard("i3", "ana", 4, 5, 6), rcard("i3", "cy", 4, 5, 0.5),                             # no flag
]
REPORT_INTERVIEWS = {i: {"_id": i, "scheduled_at": NOW} for i in ("i1", "i2", "i3")}


def by_interview(cards):
    out = {}
    for c in cards:
        out.setdefault(c["interview_id"], []).append(c)
    return out


def test_interviewer_report_means_leniency_discrepancies_and_delays():
    rows = {r["interviewer"]: r for r in domain.interviewer_report(REPORT_CARDS, REPORT_INTERVIEWS,
                                                                   by_interview(REPORT_CARDS))}
    assert list(rows) == ["ana", "bo", "cy"]
    # means 27/6 = 4.5, 15/4 = 3.75, 16/4 = 4.0; centre 4.0833, population std 0.3118
    assert rows["ana"] == {"interviewer": "ana", "scorecards": 3, "mean_rating": 4.5, "leniency_z": 1.336,
                           "discrepancy_scorecards": 2, "discrepancy_rate": 0.6667,
                           "median_submission_delay_hours": 2.0}  # delays 2, 0 (early: floored), 6
    assert rows["bo"] == {"interviewer": "bo", "scorecards": 2, "mean_rating": 3.75, "leniency_z": -1.069,
                          "discrepancy_scorecards": 1, "discrepancy_rate": 0.5,
                          "median_submission_delay_hours": 2.5}
    assert rows["cy"] == {"interviewer": "cy", "scorecards": 2, "mean_rating": 4.0, "leniency_z": -0.267,
                          "discrepancy_scorecards": 1, "discrepancy_rate": 0.5,
                          "median_submission_delay_hours": 1.75}


def test_interviewer_report_flags_come_from_the_whole_interview_and_z_needs_two_interviewers():
    only_ana_in_i1 = [REPORT_CARDS[0]]  # bo's card is outside the period, but it makes i1's flag
    [row] = domain.interviewer_report(only_ana_in_i1, REPORT_INTERVIEWS, by_interview(REPORT_CARDS[:2]))
    assert row["discrepancy_scorecards"] == 1 and row["leniency_z"] is None and row["mean_rating"] == 4.5
    same = [rcard("i3", "ana", 4, 4, 1), rcard("i3", "bo", 4, 4, 1)]
    assert [r["leniency_z"] for r in domain.interviewer_report(same, REPORT_INTERVIEWS, by_interview(same))] == [
        None, None]  # equal means: no spread to measure leniency by
    assert domain.interviewer_report([], {}, {}) == []


def test_in_discrepancy_is_one_end_of_a_flagged_spread():
    flagged = domain.flagged_spreads(REPORT_CARDS[2:5])
    assert flagged == {"craft": (3, 5)}
    assert [domain.in_discrepancy(c, flagged) for c in REPORT_CARDS[2:5]] == [True, False, True]
