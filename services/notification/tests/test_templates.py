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


def render(kind, locale="en", tier="basic", reply_to=None, **extra):
    policy = NotificationPolicy(locale=locale)
    planned = domain.Planned(kind, domain.CANDIDATE, 0, extra=extra)
    ctx = {**domain.base_context({**CONTACT, "tier": tier}, policy, PORTAL, reply_to),
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


# -- candidate-facing words (issue 15, findings 11 and 12) --------------------------------------------------

CANDIDATE_KINDS = ["offer", "rejection", "progress", "guide", "survey", "reengagement"]
REPLY = {"en": "reply", "zh-CN": "回复"}


def every_candidate_notice(locale, reply_to=None):
    extras = dict(evidence=True, next_role="hr", expected_by="2026-03-02T09:00:00Z")
    for kind in CANDIDATE_KINDS:
        yield kind, render(kind, locale, reply_to=reply_to, **extras)
    yield "rejection (screen-out)", render("rejection", locale, reply_to=reply_to, screened_out=True)
    yield "offer (core)", render("offer", locale, tier="core", reply_to=reply_to, evidence=False)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_no_candidate_notice_shows_internal_ids_or_the_made_up_hr_address(locale):
    for kind, out in every_candidate_notice(locale):
        text = out.subject + out.body
        assert "app_1" not in text and "cand_1" not in text, kind
        assert "hireloop.local" not in text, kind  # hr-<division>@hireloop.local is for HR notices only


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_no_candidate_notice_invites_a_reply_when_there_is_nowhere_to_reply(locale):
    for kind, out in every_candidate_notice(locale):
        assert REPLY[locale] not in out.body.lower(), (kind, out.body)
    answered = dict(every_candidate_notice(locale, reply_to="jobs@retail.example"))
    for kind in ("offer", "rejection", "rejection (screen-out)", "guide"):
        assert REPLY[locale] in answered[kind].body.lower() and "jobs@retail.example" in answered[kind].body, kind


@pytest.mark.parametrize("locale,meeting,screen_out", [
    ("en", "meeting our team", "We have read your application carefully"),
    ("zh-CN", "与我们的团队交流", "我们认真阅读了您的申请"),
])
def test_a_screen_out_has_its_own_wording_never_thanking_for_a_meeting(locale, meeting, screen_out):
    out = render("rejection", locale, screened_out=True)
    assert meeting not in out.body and screen_out in out.body
    after_interviews = render("rejection", locale, screened_out=False)
    assert meeting in after_interviews.body and screen_out not in after_interviews.body


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_rejection_shows_no_score_match_or_highlight(locale):
    for screened_out in (True, False):
        body = render("rejection", locale, screened_out=screened_out).body
        assert "4.3" not in body and "75" not in body and "Great latte art" not in body


@pytest.mark.parametrize("locale,promise", [
    ("en", ["pick your start date", "choose the start date", "choose or check your start date", "full terms"]),
    ("zh-CN", ["选择合适的入职日期", "选择或确认入职日期", "完整的录用条款"]),
])
def test_no_notice_promises_a_step_the_portal_does_not_offer(locale, promise):
    # the portal offers: the status, the timeline, accept/decline, the survey and withdrawing consent
    for kind, out in every_candidate_notice(locale):
        for words in promise:
            assert words not in out.body.lower(), (kind, words)


def test_a_rejected_prior_application_is_never_quoted_in_a_reengagement():
    prior = {"requisition_title": "Barista", "interview_average": 2.1, "interview_highlights": ["Slow"],
             "status": "rejected"}
    ctx = domain.reengagement_context(requisition_title="Head Barista", division="retail", reasons=[], prior=prior)
    assert ctx["prior_average"] is None and ctx["prior_highlights"] == [] and ctx["prior_title"] is None


OFFER = {"version": 1, "salary": {"amount": 85000.0, "currency": "EUR", "period": "year"},
         "start_date_options": ["2027-01-04", "2027-02-01"], "expires_at": "2026-12-20T17:00:00Z",
         "message": "Welcome aboard!", "company": "Retail GmbH", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize("locale,salary,dates,expiry", [
    ("en", "EUR 85,000 per year", "choose one of 2027-01-04, 2027-02-01", "2026-12-20 18:00 (Europe/Berlin)"),
    ("zh-CN", "EUR 85,000 每年", "2027-01-04、2027-02-01", "2026-12-20 18:00 (Europe/Berlin)"),
])
def test_an_offer_with_terms_shows_them_and_asks_for_a_start_date_on_the_portal(locale, salary, dates, expiry):
    out = render("offer", locale, evidence=True, offer=OFFER)
    assert salary in out.body and dates in out.body and expiry in out.body
    assert "Welcome aboard!" in out.body and PORTAL in out.body
    without = render("offer", locale, evidence=True)
    assert salary not in without.body and "2027-01-04" not in without.body
    # the old promise of a start date agreed by phone stays only where the portal offers no choice
    assert ("agree your start date" in out.body) is False if locale == "en" else ("商定入职日期" not in out.body)
    assert ("agree your start date" in without.body) if locale == "en" else ("商定入职日期" in without.body)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_hr_notices_of_an_offer_name_the_question_and_the_expiry(locale):
    asked = render("offer_question", locale, question="Is the role hybrid?", offer=OFFER)
    assert "Is the role hybrid?" in asked.body and "app_1" in asked.body and "EUR 85,000" in asked.body
    warning = render("offer_expiry_warning", locale, offer=OFFER)
    assert "2026-12-20 18:00 (Europe/Berlin)" in warning.body and "app_1" in warning.body


@pytest.mark.parametrize("locale,meeting,cancelled", [
    ("en", "meeting our team", "the interview we had planned"),
    ("zh-CN", "与我们的团队交流", "原定的面试将不再进行"),
])
def test_a_rejection_says_what_fits_the_stage_it_came_at(locale, meeting, cancelled):
    """Reject at any stage (the interviews issue): before an interview nobody is thanked for meeting the team;
    with one planned, the candidate is told it will not take place; after interviews, the team is thanked."""
    stages = {previous: domain.rejection_stage("rejected", previous)
              for previous in ("shortlisted", "interviewing", "interviewed")}
    assert domain.rejection_stage("screened_out", "received") == {"screened_out": True, "interview_planned": False}
    before = render("rejection", locale, **stages["shortlisted"]).body
    planned = render("rejection", locale, **stages["interviewing"]).body
    after = render("rejection", locale, **stages["interviewed"]).body
    assert meeting not in before and cancelled not in before
    assert cancelled in planned and meeting not in planned
    assert meeting in after and cancelled not in after
