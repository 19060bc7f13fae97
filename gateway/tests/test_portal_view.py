"""The candidate portal's view is built from an allow-list: whatever staff fields an application, an approval
step or a re-engagement carries, the page and its JSON show only what the candidate may see, in their words."""

import json

import pytest

from gateway import portal, portal_text
from gateway.templating import TEMPLATES

STAFF_WORDS = ["anaq7", "boz9", "gracew3", "Perfect milk texturing", "int_7f3a", "cand_99", "req_42", "4.5", "3.1",
               "knows the owner", "hire her", "hanak2", "ruip5"]

APPLICATION = {  # the staff view of an application (sourcing's get_application), trimmed to what matters
    "id": "app_1", "requisition_id": "req_42", "requisition_title": "Barista", "candidate_id": "cand_99",
    "division": "retail", "tier": "core", "status": "rejected",
    "screening": {"score": 40, "match": 50, "reasons": ["Missing skill"],
                  "override": {"by": "ruip5", "reason": "knows the owner"}},
    "interview": {"id": "int_7f3a", "average": 3.1, "highlights": ["Perfect milk texturing"]},
    "decision": {"outcome": "fail", "decided_by": "gracew3", "note": "hire her"},
    "timeline": [
        {"at": "2026-01-01T09:00:00Z", "status": "received", "detail": "Applied via referral"},
        {"at": "2026-01-01T09:00:01Z", "status": "screened_out", "detail": "Screened out: score 40, match 50%"},
        {"at": "2026-01-01T10:00:00Z", "status": "shortlisted",
         "detail": "Screening overridden by ruip5: passed (knows the owner)"},
        {"at": "2026-01-02T09:00:00Z", "status": "interviewing",
         "detail": "Interview int_7f3a scheduled with anaq7, boz9"},
        {"at": "2026-01-03T09:00:00Z", "status": "interviewed", "detail": "Interview complete: average 3.1"},
        {"at": "2026-01-04T09:00:00Z", "status": "awaiting_approval", "detail": "Decision: pass by hanak2"},
        {"at": "2026-01-05T09:00:00Z", "status": "rejected", "detail": "Rejected at approval step 2 by gracew3"},
    ],
}
APPROVALS = [{"id": "apr_1", "application_id": "app_1", "step": 1, "role": "hr", "status": "approved",
              "expected_by": "2026-01-05T09:00:00Z", "decided_at": "2026-01-04T12:00:00Z", "decided_by": "hanak2",
              "note": "hire her"},
             {"id": "apr_2", "application_id": "app_1", "step": 2, "role": "admin", "status": "rejected",
              "expected_by": "2026-01-06T09:00:00Z", "decided_at": "2026-01-05T09:00:00Z", "decided_by": "gracew3",
              "note": "4.5 is not enough"}]
SURVEY = {"sent": True, "answered": False}
CONSENT = {"in_pool": False, "withdrawn": False, "candidate_id": "cand_99"}


def rendered(view, locale):
    return TEMPLATES.get_template("portal.html").render(view=view, locale=locale, text=portal_text.TEXT[locale])


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_application_page_and_json_show_no_staff_name_id_score_reason_or_note(locale):
    view = portal.application_view(APPLICATION, APPROVALS, SURVEY, CONSENT, locale)
    for text in (json.dumps(view, ensure_ascii=False), rendered(view, locale)):
        for word in STAFF_WORDS:
            assert word not in text, (word, locale)
    assert view["application_id"] == "app_1"  # the candidate's own reference stays
    assert [e["status"] for e in view["timeline"]] == [e["status"] for e in APPLICATION["timeline"]]
    assert all(e["text"] == portal_text.TIMELINE[locale][e["status"]] for e in view["timeline"])
    assert [s["name"] for s in view["approvals"]] == [portal_text.TEXT[locale]["step_hr"],
                                                      portal_text.TEXT[locale]["step_admin"]]
    assert set(view) == {"kind", "application_id", "locale", "requisition_title", "status", "status_text",
                         "timeline", "approvals", "can_respond", "survey", "talent_pool", "interview", "offer"}
    assert view["survey"] == {"open": True, "answered": False}
    assert view["talent_pool"] == {"in_pool": False, "withdrawn": False}


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_new_staff_field_stays_out_of_the_portal_until_added_on_purpose(locale):
    staff = {**APPLICATION, "secret_staff_field": "gracew3-only", "timeline": [
        {**e, "by": "gracew3-only"} for e in APPLICATION["timeline"]]}
    view = portal.application_view(staff, [{**s, "extra": "gracew3-only"} for s in APPROVALS], SURVEY, CONSENT, locale)
    assert "gracew3-only" not in json.dumps(view) and "gracew3-only" not in rendered(view, locale)


def test_staff_actions_that_keep_the_status_add_no_line_to_the_candidates_timeline():
    offered = {**APPLICATION, "status": "offered", "timeline": [
        {"at": "2026-01-01T09:00:00Z", "status": "received", "detail": "Applied via web"},
        {"at": "2026-01-02T09:00:00Z", "status": "offered", "detail": "Decision: pass by hanak2w; offer made"},
        {"at": "2026-01-03T09:00:00Z", "status": "offered", "detail": "HR phone confirmation: confirmed"}]}
    view = portal.application_view(offered, [], SURVEY, CONSENT, "en")
    assert [(e["status"], e["at"]) for e in view["timeline"]] == [("received", "2026-01-01T09:00:00Z"),
                                                                  ("offered", "2026-01-02T09:00:00Z")]


def test_the_reengagement_view_keeps_only_the_role_status_and_the_candidates_own_new_application():
    reg = {"id": "rng_1", "requisition_id": "req_42", "requisition_title": "Head Barista", "division": "retail",
           "candidate_id": "cand_99", "status": "accepted", "application_id": "app_2", "fast_track": True,
           "requested_by": "ruip5", "created_at": "2026-01-01T09:00:00Z", "answered_at": None}
    for locale in ("en", "zh-CN"):
        view = portal.reengagement_view(reg, CONSENT, locale)
        text = json.dumps(view, ensure_ascii=False) + rendered(view, locale)
        for word in ("req_42", "cand_99", "rng_1", "ruip5", "retail"):
            assert word not in text, word
        assert view["application_id"] == "app_2" and view["can_respond"] is False


def test_every_status_has_timeline_words_in_both_languages():
    from shared.contracts.common import AppStatus

    for locale in portal_text.LOCALES:
        assert set(portal_text.TIMELINE[locale]) == {s.value for s in AppStatus}
