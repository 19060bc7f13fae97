from services.screening.domain import apply_override, location_matches, screen
from shared.contracts.events import CandidateSnapshot, RequisitionSnapshot


def req(**kw):
    base = dict(id="r1", title="Barista", division="retail", department="stores", tier="basic",
                required_skills=["Coffee", "Customer Service"], skills=["Latte Art", "POS"], min_years=2)
    base.update(kw)
    return RequisitionSnapshot(**base)


def cand(**kw):
    base = dict(name="A", email="a@x.io", skills=["coffee", " customer  service", "pos"], years_experience=3)
    base.update(kw)
    return CandidateSnapshot(**base)


def test_all_required_and_years_pass_with_match_share():
    r = screen(req(), cand())
    assert r.passed is True
    # 3 of 4 skills (2 required + 2 nice) -> 75 %
    assert r.match == 75
    assert r.matched_skills == ["Coffee", "Customer Service", "POS"]
    assert r.missing_skills == ["Latte Art"]
    assert any("Has all 2 required skills" in s for s in r.reasons)


def test_missing_required_skill_screens_out_and_says_which():
    r = screen(req(), cand(skills=["coffee"]))
    assert r.passed is False
    assert "Missing required skill: Customer Service." in r.reasons
    assert r.score <= 40


def test_years_below_minimum_screens_out():
    r = screen(req(min_years=5), cand(years_experience=1))
    assert r.passed is False
    assert any("1 year of experience, below the minimum of 5 years" in s for s in r.reasons)


def test_skills_compare_case_insensitively_after_trimming():
    r = screen(req(required_skills=["  PYTHON "], skills=[]), cand(skills=["python"]))
    assert r.passed and r.match == 100


def test_knockout_question_wrong_answer_screens_out():
    q = [{"id": "permit", "question": "Do you have a work permit?", "required_answer": True}]
    assert screen(req(knockout_questions=q), cand(), {"permit": True}).passed is True
    out = screen(req(knockout_questions=q), cand(), {"permit": False})
    assert out.passed is False
    assert any("work permit" in s for s in out.reasons)
    assert screen(req(knockout_questions=q), cand(), {}).passed is False


def test_location_affects_score_not_verdict():
    here = screen(req(location="Shanghai"), cand(location="shanghai"))
    away = screen(req(location="Shanghai"), cand(location="Berlin"))
    assert here.passed and away.passed
    assert here.score - away.score == 10
    assert location_matches(None, "x") is None and location_matches("Remote", None) is None


def test_perfect_candidate_scores_100():
    r = screen(req(), cand(skills=["coffee", "customer service", "latte art", "pos"], years_experience=9))
    assert r.score == 100 and r.match == 100


def test_override_keeps_evidence_and_records_who():
    r = screen(req(), cand(skills=["coffee"]))
    o = apply_override(r, True, "maria", "strong referral", "2026-01-01T00:00:00Z")
    assert o.passed is True and o.override["by"] == "maria" and o.override["original_passed"] is False
    assert o.missing_skills == r.missing_skills
    assert o.reasons[-1] == "Manually passed by maria: strong referral"
