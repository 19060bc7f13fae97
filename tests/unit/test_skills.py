"""Skill matching (shared/skills.py), the one way screening and the talent pool compare skills."""

from datetime import UTC, datetime

from services.screening.domain import screen
from services.talent_pool.domain import match_one
from shared import skills
from shared.contracts.events import CandidateSnapshot, RequisitionSnapshot


def test_covers_required_ignores_case_and_spacing():
    assert skills.covers([" Machine   Learning "], ["machine learning"])
    assert not skills.covers([], ["x"])
    assert skills.covers(["a"], [])


def test_unique_keeps_the_first_spelling_of_each_skill():
    assert skills.unique(["Python", "python ", " PYTHON", "SQL", "sql"]) == ["Python", "SQL"]
    assert skills.unique([]) == []


def test_split_dedupes_and_a_skill_in_both_lists_is_required():
    assert skills.split(["Python", "python "], ["PYTHON", "Kafka", "kafka"]) == (["Python"], ["Kafka"])
    assert skills.split([], ["Go"]) == ([], ["Go"])


def test_match_names_skills_as_the_requisition_spells_them_required_first():
    m = skills.match(["  sql", "KAFKA", "cooking"], ["Python", "SQL"], ["Kafka", "Airflow", "sql"])
    assert (m.required, m.nice) == (["Python", "SQL"], ["Kafka", "Airflow"])
    assert (m.matched_required, m.missing_required) == (["SQL"], ["Python"])
    assert (m.matched_nice, m.missing_nice) == (["Kafka"], ["Airflow"])
    assert m.matched == ["SQL", "Kafka"] and m.missing == ["Python", "Airflow"]
    assert not m.has_all_required
    assert skills.match(["python", "sql"], ["Python", "SQL"], []).has_all_required
    assert skills.match([], [], []).has_all_required


def test_screening_and_the_talent_pool_see_the_same_skills():
    required, nice, have = ["Coffee", "Customer  Service"], ["Latte Art", "POS", "coffee"], ["COFFEE", "pos", "tea"]
    req = RequisitionSnapshot(id="req_1", title="Barista", division="retail", department="d", tier="basic",
                              required_skills=required, skills=nice)
    cand = CandidateSnapshot(candidate_id="c1", name="A", email="a@x.io", skills=have, years_experience=3)
    screened = screen(req, cand)
    pooled = match_one({"candidate_id": "c1", "skills": have, "prior": {}, "reason": "declined"},
                       {"required_skills": required, "skills": nice}, datetime(2026, 1, 1, tzinfo=UTC))
    expected = skills.match(have, required, nice)
    assert screened.matched_skills == pooled["matched_skills"] == expected.matched == ["Coffee", "POS"]
    assert screened.missing_skills == pooled["missing_skills"] == expected.missing == [
        "Customer  Service", "Latte Art"]
