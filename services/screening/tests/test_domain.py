from services.screening.domain import CvReading, apply_override, location_matches, screen
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


# --- the CV (careers issue) ---------------------------------------------------------------------------

def read(skills=(), years=None, status="extracted", why=None):
    return CvReading.of({"text_status": status, "skills_found": list(skills), "years_found": years,
                         "unreadable_reason": why})


def test_skills_found_in_the_cv_count_with_those_typed_and_the_reasons_say_which():
    typed_only = screen(req(), cand(skills=["coffee", "pos"]))
    assert typed_only.passed is False and typed_only.skills_from_cv == []
    r = screen(req(), cand(skills=["coffee", "pos"]), cv=read(["customer service", "Latte Art", "Excel"]))
    assert r.passed is True  # the required skill missing from the form was in the CV
    assert r.matched_skills == ["Coffee", "Customer Service", "Latte Art", "POS"] and r.missing_skills == []
    assert r.match == 100 and r.score > typed_only.score
    # every skill found only in the CV, relevant to this role or not, as the reading spelled it
    assert r.skills_from_cv == ["customer service", "Latte Art", "Excel"]
    assert "Found in the CV, not typed in the application: Customer Service, Latte Art." in r.reasons
    assert "Has all 2 required skills: Coffee, Customer Service." in r.reasons


def test_a_skill_typed_and_found_again_is_not_from_the_cv():
    r = screen(req(), cand(skills=["Coffee", " customer  service"]), cv=read(["COFFEE", "Customer Service ", "pos"]))
    assert r.skills_from_cv == ["pos"]
    assert "Found in the CV, not typed in the application: POS." in r.reasons
    assert screen(req(), cand(), cv=read(["coffee", "coffee", "Coffee"])).skills_from_cv == []


def test_a_cv_with_nothing_new_or_nothing_relevant_says_so():
    nothing_new = screen(req(), cand(), cv=read(["coffee"]))
    assert nothing_new.reasons[-1] == "The CV was read: it names no skill beyond those typed in the application."
    assert nothing_new.model_dump(exclude={"reasons"}) == screen(req(), cand()).model_dump(exclude={"reasons"})
    off_topic = screen(req(), cand(), cv=read(["Forklift", "Welding"]))
    assert off_topic.skills_from_cv == ["Forklift", "Welding"]
    assert off_topic.reasons[-1] == ("Found in the CV, not typed in the application: Forklift, Welding; none of "
                                     "them is a skill this role asks for.")
    assert off_topic.match == 75 and off_topic.matched_skills == ["Coffee", "Customer Service", "POS"]


def test_an_unreadable_cv_is_said_and_the_typed_skills_decide():
    typed = screen(req(), cand(skills=["coffee"]))
    r = screen(req(), cand(skills=["coffee"]), cv=read(status="unreadable", why="encrypted PDF"))
    assert r.reasons[-1] == ("The CV could not be read (encrypted PDF): screened on the skills typed in the "
                             "application.")
    assert r.model_dump(exclude={"reasons"}) == typed.model_dump(exclude={"reasons"}) and r.passed is False
    # whatever an unreadable reading carries, its skills are not used
    odd = screen(req(), cand(skills=["coffee"]), cv=read(["customer service"], status="unreadable"))
    assert odd.passed is False and odd.skills_from_cv == []
    assert odd.reasons[-1] == "The CV could not be read: screened on the skills typed in the application."


def test_more_years_in_the_cv_are_mentioned_not_used():
    r = screen(req(min_years=5), cand(years_experience=3), cv=read(years=8))
    assert r.passed is False  # the typed 3 years decide
    assert "3 years of experience, below the minimum of 5 years." in r.reasons
    assert ("The CV states 8 years of experience, more than the 3 years typed in the application; screened on the "
            "typed figure.") in r.reasons
    assert r.score == screen(req(min_years=5), cand(years_experience=3)).score
    for same_or_fewer in (3, 1, None):
        assert not any("The CV states" in s for s in screen(req(), cand(years_experience=3),
                                                            cv=read(years=same_or_fewer)).reasons)


def test_a_reading_that_did_not_come_is_said():
    r = screen(req(), cand(), cv=CvReading.not_arrived(300))
    assert r.reasons[-1] == ("The CV reading had not arrived after 5 minutes: screened on the skills typed in the "
                             "application.")
    assert r.skills_from_cv == [] and r.passed is True
    assert "after 30 seconds:" in screen(req(), cand(), cv=CvReading.not_arrived(30)).reasons[-1]


def test_without_a_cv_nothing_is_said_about_one():
    r = screen(req(), cand())
    assert r.skills_from_cv == [] and not any("CV" in s for s in r.reasons)
