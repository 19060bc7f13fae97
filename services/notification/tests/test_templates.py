"""The template files themselves: every kind in every locale, rendered the way the service does."""

import pytest

from services.notification import domain, loader
from shared.contracts.commands import NotificationPolicy
from shared.contracts.common import NoticeKind

CONTACT = {"_id": "app_1", "candidate_id": "cand_1", "name": "Li Wei", "email": "li@example.com",
           "division": "retail", "requisition_title": "Barista", "tier": "basic", "urgent": True}
PORTAL = "http://localhost:8000/portal/TOKEN123"
SCREENING = {"match": 75, "matched_skills": ["Coffee", "POS"]}
INTERVIEW = {"average": 4.333, "by_competency": {"craft": 4.5},
             "highlights": ["Great latte art", "Calm under pressure"]}


def render(kind, locale="en", tier="basic", **extra):
    policy = NotificationPolicy(locale=locale)
    planned = domain.Planned(kind, domain.CANDIDATE, 0, extra=extra)
    ctx = {**domain.base_context({**CONTACT, "tier": tier}, policy, PORTAL),
           **domain.kind_context(planned, policy, screening=SCREENING, interview=INTERVIEW)}
    if kind == "reengagement":
        ctx.update(domain.reengagement_context(requisition_title="Head Barista", division="retail",
                                               reasons=["Knows the POS system"],
                                               prior={"requisition_title": "Barista", "interview_average": 4.5}))
    return domain.render(loader.template_text(locale, kind), ctx)


def test_every_kind_has_a_template_in_both_locales():
    assert set(loader.locales()) >= {"en", "zh-CN"}
    for locale in ("en", "zh-CN"):
        for kind in NoticeKind:
            path = loader.TEMPLATE_DIR / locale / f"{kind.value}.txt"
            assert path.is_file(), path


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("kind", [k.value for k in NoticeKind])
def test_every_template_renders_with_subject_and_body(kind, locale):
    out = render(kind, locale, evidence=True, next_role="hr", expected_by="2026-03-02T09:00:00Z")
    assert out.subject and "\n" not in out.subject
    assert "Li Wei" in out.body
    assert "{{" not in out.body and "{%" not in out.body


@pytest.mark.parametrize("locale,average,match,checklist", [
    ("en", "Interview average: 4.3 / 5", "Skills match: 75%", ["ID", "Sign the offer", "bank details",
                                                                "start date"]),
    ("zh-CN", "面试平均分：4.3 / 5", "技能匹配度：75%", ["身份证件", "签署录用通知书", "银行账户", "入职日期"]),
])
def test_basic_offer_carries_evidence_checklist_and_portal_link(locale, average, match, checklist):
    out = render("offer", locale, evidence=True)
    assert average in out.body
    assert match in out.body
    assert "Great latte art" in out.body and "Calm under pressure" in out.body
    for item in checklist:
        assert item in out.body
    assert PORTAL in out.body


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_core_offer_is_formal_with_portal_link_and_no_scores(locale):
    out = render("offer", locale, tier="core", evidence=False)
    assert PORTAL in out.body
    assert "4.3" not in out.body and "75%" not in out.body and "Great latte art" not in out.body
    assert out.subject != render("offer", locale, evidence=True).subject


def test_locales_differ():
    assert render("rejection", "en").subject != render("rejection", "zh-CN").subject
    assert "Dear Li Wei" in render("rejection", "en").body
    assert "您好" in render("rejection", "zh-CN").body


def test_progress_names_the_step_and_time():
    out = render("progress", "en", next_role="hr", expected_by="2026-03-02T09:00:00Z")
    assert "division HR review" in out.body and "2026-03-02 09:00 UTC" in out.body


def test_survey_link_is_the_portal_link():
    assert PORTAL in render("survey").body


def test_reengagement_says_why_and_links_the_portal():
    out = render("reengagement")
    assert "Head Barista" in out.subject
    assert "Knows the POS system" in out.body and "Barista" in out.body and "4.5 / 5" in out.body
    assert PORTAL in out.body


def test_unknown_locale_falls_back_to_english_and_names_are_checked():
    assert loader.template_text("fr", "offer") == loader.template_text("en", "offer")
    with pytest.raises(ValueError):
        loader.template_text("en", "../secrets")
