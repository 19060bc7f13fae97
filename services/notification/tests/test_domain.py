from datetime import UTC, datetime, timedelta

import pytest

from services.notification import domain
from services.notification.destinations import AllowList
from services.notification.domain import CANDIDATE, DIVISION_HR, GROUP_HR, Planned
from shared.contracts.commands import NotificationPolicy
from shared.contracts.notification import Policy
from shared.errors import Invalid

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEFAULTS = NotificationPolicy()


def kinds(plans):
    return [(str(p.kind), p.audience, p.delay) for p in plans]


# -- what a status change produces ---------------------------------------------------------------------

def test_offered_basic_sends_offer_now_then_guide_and_hr_reminder():
    plans = domain.plan_status_change("offered", "basic", False, DEFAULTS)
    assert kinds(plans) == [
        ("offer", CANDIDATE, 0),
        ("guide", CANDIDATE, 3600),
        ("hr_confirm_reminder", DIVISION_HR, 86400),
    ]
    assert plans[0].extra == {"evidence": True}
    assert all(p.step == 0 for p in plans)


def test_offered_core_is_a_formal_offer_with_the_same_follow_ups():
    plans = domain.plan_status_change("offered", "core", False, DEFAULTS)
    assert [str(p.kind) for p in plans] == ["offer", "guide", "hr_confirm_reminder"]
    assert plans[0].extra == {"evidence": False}


def test_urgent_offer_adds_escalation_to_group_hr():
    plans = domain.plan_status_change("offered", "basic", True, DEFAULTS)
    assert kinds(plans)[-1] == ("confirm_escalation", GROUP_HR, 7200)


def test_delays_come_from_the_division_policy():
    policy = NotificationPolicy(guide_after=5, hr_confirm_after=60, urgent_confirm_within=30)
    plans = domain.plan_status_change("offered", "core", True, policy)
    assert [p.delay for p in plans] == [0, 5, 60, 30]


def test_already_confirmed_offer_needs_no_reminder_or_escalation():
    plans = domain.plan_status_change("offered", "basic", True, DEFAULTS, confirmed=True)
    assert [str(p.kind) for p in plans] == ["offer", "guide"]


def test_rejection_then_survey_with_policy_delays():
    assert kinds(domain.plan_status_change("rejected", "basic", False, DEFAULTS)) == [
        ("rejection", CANDIDATE, 0), ("survey", CANDIDATE, 172800)]
    policy = NotificationPolicy(rejection_delay=600, survey_after=7200)
    assert [p.delay for p in domain.plan_status_change("rejected", "core", True, policy)] == [600, 7200]
    # the survey never comes before the rejection it follows
    policy = NotificationPolicy(rejection_delay=600, survey_after=7)
    assert [p.delay for p in domain.plan_status_change("rejected", "core", True, policy)] == [600, 600]


def test_a_screen_out_waits_its_own_delay_a_day_by_default_and_an_override_cancels_it():
    plans = domain.plan_status_change("screened_out", "basic", False, DEFAULTS)
    assert kinds(plans) == [("rejection", CANDIDATE, 86400), ("survey", CANDIDATE, 172800)]
    assert plans[0].extra == {"screened_out": True, "interview_planned": False}
    policy = NotificationPolicy(rejection_delay=0, screen_out_rejection_delay=3600, survey_after=7200)
    assert kinds(domain.plan_status_change("screened_out", "basic", False, policy)) == [
        ("rejection", CANDIDATE, 3600), ("survey", CANDIDATE, 7200)]
    assert domain.plan_status_change("rejected", "basic", False, policy)[0].extra == {
        "screened_out": False, "interview_planned": False}
    assert domain.cancels_on_status("shortlisted") is True


def test_share_evidence_off_makes_a_basic_offer_formal():
    plans = domain.plan_status_change("offered", "basic", False, NotificationPolicy(share_evidence=False))
    assert plans[0].extra == {"evidence": False}


def test_candidates_reply_to_the_policy_then_division_hr_then_the_setting_else_nowhere():
    assert domain.candidate_reply_to(NotificationPolicy(reply_to="jobs@retail.example", hr_email="hr@retail.example"),
                                     "careers@group.example") == "jobs@retail.example"
    assert domain.candidate_reply_to(NotificationPolicy(hr_email="hr@retail.example"),
                                     "careers@group.example") == "hr@retail.example"
    assert domain.candidate_reply_to(DEFAULTS, "careers@group.example") == "careers@group.example"
    assert domain.candidate_reply_to(DEFAULTS, None) is None
    assert domain.candidate_reply_to(DEFAULTS, "") is None


def test_only_candidate_email_notices_carry_reply_to():
    rendered = domain.Rendered("s", "b")
    common = dict(notice_id="ntc_1", now=NOW, recipient="x@example.com", rendered=rendered,
                  application_id="app_1", candidate_id="c", reengagement_id=None, division="d", tier="basic",
                  urgent=False, reply_to="hr@d.example")
    assert domain.build_notice(Planned("offer", CANDIDATE, 0), **common)["reply_to"] == "hr@d.example"
    hook = domain.build_notice(Planned("hr_confirm_reminder", DIVISION_HR, 0), **{**common, "channel": "webhook"})
    assert hook["reply_to"] is None


@pytest.mark.parametrize("status", ["received", "shortlisted", "interviewing", "interviewed",
                                    "awaiting_approval", "accepted", "declined", "hired", "no_show", "withdrawn"])
def test_other_statuses_plan_nothing(status):
    assert domain.plan_status_change(status, "basic", True, DEFAULTS) == []


# -- cancellation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status,cancels", [("declined", True), ("withdrawn", True), ("offered", False),
                                            ("accepted", False), ("rejected", False), ("hired", False)])
def test_declined_or_withdrawn_cancel_everything_still_scheduled(status, cancels):
    assert domain.cancels_on_status(status) is cancels


def test_confirmed_offer_cancels_reminder_and_escalation_only():
    assert domain.cancels_on_confirmation("confirmed") == {"hr_confirm_reminder", "confirm_escalation"}
    assert domain.cancels_on_confirmation("unreachable") == frozenset()


# -- dedupe keys and notices ---------------------------------------------------------------------------

def test_dedupe_key_per_application_or_reengagement_kind_and_step():
    assert domain.dedupe_key("app_1", None, "offer", 0) == "app_1:offer:0"
    assert domain.dedupe_key(None, "reg_9", "reengagement", 0) == "reg_9:reengagement:0"
    assert domain.dedupe_key("app_1", None, "progress", 1) != domain.dedupe_key("app_1", None, "progress", 0)
    with pytest.raises(ValueError):
        domain.dedupe_key(None, None, "offer", 0)


def test_build_notice_schedules_at_now_plus_delay():
    planned = Planned("guide", CANDIDATE, 3600)
    doc = domain.build_notice(planned, notice_id="ntc_1", now=NOW, recipient="a@x.io",
                              rendered=domain.Rendered("S", "B\n"), application_id="app_1", candidate_id="c1",
                              reengagement_id=None, division="retail", tier="basic", urgent=False)
    assert doc["scheduled_for"] == NOW + timedelta(hours=1)
    assert doc["dedupe_key"] == "app_1:guide:0"
    assert (doc["status"], doc["channel"], doc["attempts"], doc["sent_at"]) == ("scheduled", "email", 0, None)
    assert not domain.is_due(doc, NOW)
    assert domain.is_due(doc, NOW + timedelta(hours=1))


def test_stale_status_change_is_ignored_but_equal_time_is_not():
    """The contact's order of status changes (shared/contracts/status.py)."""
    from shared.contracts.status import supersedes

    assert not supersedes(0, NOW, 0, NOW - timedelta(seconds=1))
    assert supersedes(0, NOW, 0, NOW)
    assert supersedes(None, None, 0, NOW)
    assert supersedes(None, NOW.replace(tzinfo=None), 0, NOW + timedelta(seconds=1))
    assert not supersedes(5, NOW, 4, NOW)  # the same time: the sequence decides


# -- recipients and policies ----------------------------------------------------------------------------

def test_recipients_default_to_division_and_group_hr_mailboxes():
    assert domain.recipient(CANDIDATE, "c@x.io", "retail", DEFAULTS) == "c@x.io"
    assert domain.recipient(DIVISION_HR, "c@x.io", "retail", DEFAULTS) == "hr-retail@hireloop.local"
    assert domain.recipient(GROUP_HR, "c@x.io", "retail", DEFAULTS) == "group-hr@hireloop.local"
    policy = NotificationPolicy(hr_email="people@retail.example.com", group_hr_email="group@example.com")
    assert domain.recipient(DIVISION_HR, "c@x.io", "retail", policy) == "people@retail.example.com"
    assert domain.recipient(GROUP_HR, "c@x.io", "retail", policy) == "group@example.com"
    with pytest.raises(ValueError):
        domain.recipient("nobody", "c@x.io", "retail", DEFAULTS)


def test_effective_policy_defaults_and_stored_values():
    assert domain.effective_policy(None) == DEFAULTS
    stored = {"_id": "retail", "guide_after": 10, "locale": "zh-CN", "updated_at": NOW, "updated_by": "x"}
    policy = domain.effective_policy(stored)
    assert policy.guide_after == 10 and policy.locale == "zh-CN" and policy.survey_after == 172800
    view = Policy.of("retail", policy)
    assert view.division == "retail" and view.guide_after == 10 and view.hr_email is None


HOOK = NotificationPolicy(hr_webhook_url="https://hr.example.com/hooks/hireloop",
                          hr_webhook_secret="0123456789abcdef-secret")


def test_hr_notices_go_over_the_webhook_when_the_division_has_one():
    url = "https://hr.example.com/hooks/hireloop"
    assert domain.delivery(DIVISION_HR, "c@x.io", "retail", HOOK) == ("webhook", url)
    assert domain.delivery(GROUP_HR, "c@x.io", "retail", HOOK) == ("webhook", url)
    assert domain.delivery(CANDIDATE, "c@x.io", "retail", HOOK) == ("email", "c@x.io")  # candidates: email
    assert domain.delivery(DIVISION_HR, "c@x.io", "retail", DEFAULTS) == ("email", "hr-retail@hireloop.local")
    assert domain.delivery(GROUP_HR, "c@x.io", "retail", DEFAULTS) == ("email", "group-hr@hireloop.local")
    with pytest.raises(ValueError):
        domain.delivery("nobody", "c@x.io", "retail", HOOK)


def test_every_planned_hr_notice_takes_the_webhook_and_every_candidate_notice_email():
    plans = domain.plan_status_change("offered", "basic", True, HOOK) + domain.plan_status_change(
        "rejected", "basic", False, HOOK) + [domain.plan_reengagement()]
    channels = {str(p.kind): domain.delivery(p.audience, "c@x.io", "retail", HOOK)[0] for p in plans}
    assert channels == {"offer": "email", "guide": "email", "hr_confirm_reminder": "webhook",
                        "confirm_escalation": "webhook", "rejection": "email", "survey": "email",
                        "reengagement": "email"}


def test_build_notice_records_the_channel_and_refuses_unknown_ones():
    planned = Planned("hr_confirm_reminder", DIVISION_HR, 60)
    args = {"notice_id": "ntc_1", "now": NOW, "recipient": "https://hr.example.com/h",
            "rendered": domain.Rendered("S", "B\n"), "application_id": "app_1", "candidate_id": "c1",
            "reengagement_id": None, "division": "retail", "tier": "basic", "urgent": False}
    doc = domain.build_notice(planned, channel="webhook", **args)
    assert (doc["channel"], doc["recipient"]) == ("webhook", "https://hr.example.com/h")
    assert "secret" not in str(doc)
    assert domain.notice_view(doc).channel == "webhook"
    assert domain.build_notice(planned, **args)["channel"] == "email"
    with pytest.raises(ValueError):
        domain.build_notice(planned, channel="sms", **args)


def test_policy_view_never_shows_the_webhook_secret():
    view = Policy.of("retail", HOOK)
    assert view.hr_webhook_secret is None and view.hr_webhook_secret_set is True
    assert view.hr_webhook_url == "https://hr.example.com/hooks/hireloop"
    assert "0123456789abcdef-secret" not in repr(view) and "0123456789abcdef-secret" not in repr(HOOK)
    assert "0123456789abcdef-secret" not in view.model_dump_json()
    plain = Policy.of("retail", DEFAULTS)
    assert plain.hr_webhook_secret is None and plain.hr_webhook_secret_set is False


def test_put_policy_keeps_the_stored_secret_when_the_url_stays_and_no_secret_is_given():
    round_trip = NotificationPolicy(hr_webhook_url=HOOK.hr_webhook_url, guide_after=5)  # a GET body sent back
    kept = domain.policy_to_store(round_trip, HOOK)
    assert kept.hr_webhook_secret == HOOK.hr_webhook_secret and kept.guide_after == 5
    rotated = NotificationPolicy(hr_webhook_url=HOOK.hr_webhook_url, hr_webhook_secret="a-brand-new-secret!!")
    assert domain.policy_to_store(rotated, HOOK).hr_webhook_secret == "a-brand-new-secret!!"
    assert domain.policy_to_store(rotated, None) == rotated
    # No URL any more: nothing to keep; no webhook at all: the policy as given.
    assert domain.policy_to_store(DEFAULTS, HOOK) == DEFAULTS
    assert domain.policy_to_store(NotificationPolicy(guide_after=1), None) == NotificationPolicy(guide_after=1)


@pytest.mark.parametrize("url", ["https://127.0.0.1/h", "https://0x7f000001/h", "https://[::1]/h",
                                 "https://169.254.169.254/latest", "http://hr.example.com/h"])
def test_put_policy_with_an_internal_or_plain_http_url_is_refused_naming_the_url(url):
    policy = NotificationPolicy(hr_webhook_url=url, hr_webhook_secret="0123456789abcdef-secret")
    with pytest.raises(Invalid) as err:
        domain.policy_to_store(policy, None)
    assert err.value.field == "hr_webhook_url" and str(err.value).startswith("hr_webhook_url: ")
    # ... unless the operator's allow-list names it.
    allow = AllowList.parse("127.0.0.1, ::1, 169.254.169.254, hr.example.com")
    assert domain.policy_to_store(policy, None, allow) == policy


def test_a_refused_destination_fails_the_notice_at_once():
    assert domain.after_failure(1, "webhook destination refused: loopback", NOW, permanent=True) == {
        "status": domain.FAILED, "error": "webhook destination refused: loopback", "lease_until": None}


@pytest.mark.parametrize("stored", [None, DEFAULTS])
def test_put_policy_with_a_url_and_no_secret_anywhere_is_refused_naming_the_secret(stored):
    with pytest.raises(Invalid) as err:
        domain.policy_to_store(NotificationPolicy(hr_webhook_url="https://hr.example.com/h"), stored)
    assert err.value.field == "hr_webhook_secret"
    assert str(err.value).startswith("hr_webhook_secret:")


def test_webhook_policy_fields_are_validated():
    from pydantic import ValidationError

    for bad in ({"hr_webhook_url": "ftp://hr.example.com/h"}, {"hr_webhook_url": "hr.example.com/h"},
                {"hr_webhook_url": "https://hr.example.com/" + "a" * 2000},
                {"hr_webhook_secret": "too-short"}, {"hr_webhook_secret": "x" * 201}):
        with pytest.raises(ValidationError) as err:
            NotificationPolicy.model_validate(bad)
        assert err.value.errors()[0]["loc"] == (next(iter(bad)),)
    assert NotificationPolicy.model_json_schema()["properties"]["hr_webhook_secret"]["writeOnly"] is True


# -- approval progress ----------------------------------------------------------------------------------

STEPS = [
    {"id": "apv_2", "step": 2, "role": "admin", "status": "pending", "expected_by": "2026-03-03T09:00:00Z"},
    {"id": "apv_1", "step": 1, "role": "hr", "status": "pending", "expected_by": "2026-03-02T09:00:00Z"},
]


def test_approvals_requested_is_progress_step_zero_naming_the_first_step():
    planned = domain.plan_approvals_requested(STEPS)
    assert (str(planned.kind), planned.step, planned.delay) == ("progress", 0, 0)
    ctx = domain.kind_context(planned, DEFAULTS)
    assert ctx["next_step"] == "division HR review"
    assert ctx["expected_by"] == "2026-03-02 09:00 UTC"
    assert ctx["decided_step"] is None
    assert domain.plan_approvals_requested([]) is None


def test_pending_step_decided_names_the_next_step_with_its_step_number():
    planned = domain.plan_step_decided("pending", STEPS[1], STEPS[0])
    assert (str(planned.kind), planned.step) == ("progress", 1)
    ctx = domain.kind_context(planned, DEFAULTS)
    assert ctx["next_step"] == "group HR approval" and ctx["decided_step"] == "division HR review"
    assert ctx["expected_by"] == "2026-03-03 09:00 UTC"
    zh = domain.kind_context(planned, NotificationPolicy(locale="zh-CN"))
    assert zh["next_step"] == "集团 HR 审批" and zh["expected_by"].startswith("2026年03月03日")


@pytest.mark.parametrize("chain", ["approved_all", "rejected"])
def test_final_step_decisions_need_no_progress_notice(chain):
    assert domain.plan_step_decided(chain, STEPS[0], None) is None


def test_progress_only_while_waiting_for_approval():
    assert domain.progress_relevant("awaiting_approval") and domain.progress_relevant("interviewed")
    assert domain.progress_relevant(None)
    assert not domain.progress_relevant("offered") and not domain.progress_relevant("rejected")


# -- sending failures -----------------------------------------------------------------------------------

def test_failed_send_is_rescheduled_with_growing_backoff_then_fails_after_five_attempts():
    delays = []
    for attempt in range(1, 5):
        update = domain.after_failure(attempt, "SMTPServerDisconnected: gone", NOW)
        assert update["status"] == "scheduled" and update["lease_until"] is None
        delays.append((update["scheduled_for"] - NOW).total_seconds())
    assert delays == [5, 20, 80, 320]
    final = domain.after_failure(5, "SMTPServerDisconnected: gone", NOW)
    assert final == {"status": "failed", "error": "SMTPServerDisconnected: gone", "lease_until": None}
    assert domain.backoff_seconds(50) == domain.BACKOFF_MAX_SECONDS


def test_backoff_base_and_attempts_are_configurable():
    delays = [(domain.after_failure(a, "webhook answered HTTP 500", NOW, backoff_base=1, max_attempts=3)
               ["scheduled_for"] - NOW).total_seconds() for a in (1, 2)]
    assert delays == [1, 4]
    assert domain.after_failure(3, "webhook answered HTTP 500", NOW, backoff_base=1, max_attempts=3) == {
        "status": "failed", "error": "webhook answered HTTP 500", "lease_until": None}


# -- rendering -------------------------------------------------------------------------------------------

def test_render_splits_subject_and_body_and_keeps_subject_on_one_line():
    out = domain.render("Subject: Hello {{ name }}\n\nDear {{ name }},\n\n\n\nBye\n", {"name": "A\nB"})
    assert out.subject == "Hello A B"
    assert out.body == "Dear A\nB,\n\nBye\n"


def test_render_refuses_bad_templates_and_missing_values():
    with pytest.raises(domain.TemplateError):
        domain.render("Hello\n\nbody", {})
    with pytest.raises(domain.TemplateError):
        domain.render("Subject: x\nbody right away", {})
    with pytest.raises(domain.TemplateError):
        domain.render("Subject: {{ missing }}\n\nbody", {})


def test_offer_context_carries_the_evidence():
    planned = domain.plan_status_change("offered", "basic", False, DEFAULTS)[0]
    ctx = domain.kind_context(planned, DEFAULTS, screening={"match": 80, "matched_skills": ["Coffee"]},
                              interview={"average": 4.25, "by_competency": {"craft": 4.5},
                                         "highlights": ["Great latte art", ""]})
    assert ctx["evidence"] is True
    assert ctx["interview_average"] == "4.2" and ctx["match"] == 80
    assert ctx["highlights"] == ["Great latte art"]
    assert ctx["by_competency"] == {"craft": "4.5"}
    empty = domain.kind_context(planned, DEFAULTS)
    assert empty["interview_average"] is None and empty["match"] is None and empty["highlights"] == []


def test_durations_and_times_read_naturally():
    assert domain.fmt_duration(7200) == "2 hours"
    assert domain.fmt_duration(86400) == "1 day"
    assert domain.fmt_duration(90) == "90 seconds"
    assert domain.fmt_duration(5400) == "90 minutes"
    assert domain.fmt_duration(7200, "zh-CN") == "2 小时"
    assert domain.fmt_time(NOW) == "2026-03-01 09:00 UTC"
    assert domain.fmt_time(None) is None


def test_reengagement_reasons_explicit_or_from_prior_application():
    assert domain.explicit_reasons({"reasons": ["Knows POS", " "], "x": 1}) == ["Knows POS"]
    assert domain.explicit_reasons({"reason": "Strong prior interview"}) == ["Strong prior interview"]
    assert domain.explicit_reasons({}) == []
    ctx = domain.reengagement_context(requisition_title="Head Barista", division="retail", reasons=[],
                                      prior={"requisition_title": "Barista", "interview_average": 4.5})
    assert ctx["prior_title"] == "Barista" and ctx["prior_average"] == "4.5" and ctx["step"] == 0


# -- API view --------------------------------------------------------------------------------------------

def test_notice_view_is_the_api_shape_and_hides_the_internal_sending_status():
    doc = domain.build_notice(Planned("offer", CANDIDATE, 0), notice_id="ntc_1", now=NOW, recipient="a@x.io",
                              rendered=domain.Rendered("S", "B\n"), application_id="app_1", candidate_id="c1",
                              reengagement_id=None, division="retail", tier="basic", urgent=False)
    view = domain.notice_view({**doc, "status": "sending"}).model_dump(mode="json")
    assert {"id", "kind", "channel", "recipient", "status", "scheduled_for", "sent_at", "subject",
            "body"} <= set(view)
    assert view["status"] == "scheduled"
    assert view["scheduled_for"] == "2026-03-01T09:00:00Z" and view["sent_at"] is None
    assert (view["application_id"], view["candidate_id"], view["division"], view["step"]) == ("app_1", "c1",
                                                                                              "retail", 0)
    sent = domain.notice_view({**doc, "status": "sent", "sent_at": NOW}).model_dump(mode="json")
    assert sent["status"] == "sent" and sent["sent_at"] == "2026-03-01T09:00:00Z"


# ----------------------------------------------------------------------------------------------------
# approval overdue reminders and the timing report


def test_overdue_reminders_go_to_each_pending_steps_approvers_at_its_expected_time():
    now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    steps = [{"step": 2, "role": "admin", "status": "pending", "expected_by": (now + timedelta(days=2)).isoformat()},
             {"step": 1, "role": "hr", "status": "pending", "expected_by": "2026-11-02T09:00:00Z"},
             {"step": 3, "role": "admin", "status": "approved", "expected_by": "2026-11-02T09:00:00Z"}]
    plans = domain.plan_overdue_reminders(steps, now)
    assert [(p.kind, p.step, p.audience, p.delay) for p in plans] == [
        ("approval_overdue", 1, domain.DIVISION_HR, 86400), ("approval_overdue", 2, domain.GROUP_HR, 2 * 86400)]
    assert domain.plan_overdue_reminders(steps, now, decided_steps={1}) == plans[1:]
    late = domain.plan_overdue_reminders(steps, now + timedelta(days=5))
    assert [p.delay for p in late] == [0, 0]  # already late: remind at once


def test_result_mode_says_how_the_policy_timed_a_result():
    assert domain.result_mode("offer", "basic", NotificationPolicy()) == "immediate"
    assert domain.result_mode("offer", "core", NotificationPolicy()) == "after_approval"
    assert domain.result_mode("rejection", "basic", NotificationPolicy()) == "immediate"
    assert domain.result_mode("rejection", "core", NotificationPolicy(rejection_delay=3600)) == "delayed"
    assert domain.result_mode("rejection", "basic", NotificationPolicy(), "screened_out") == "delayed"
    assert domain.result_mode("rejection", "basic", NotificationPolicy(screen_out_rejection_delay=0),
                              "screened_out") == "immediate"


def test_timing_report_groups_and_rates():
    def rec(kind, tier, mode, delay, outcome=None, score=None, sent=True):
        return {"kind": kind, "tier": tier, "mode": mode, "sent_at": "x" if sent else None,
                "delay_seconds": delay if sent else None, "outcome": outcome, "survey_score": score}

    rows = domain.timing_report([
        rec("offer", "basic", "immediate", 4, "hired"), rec("offer", "basic", "immediate", 2, "declined"),
        rec("offer", "basic", "immediate", 10, "no_show"), rec("offer", "basic", "immediate", 8),
        rec("offer", "basic", "immediate", None, sent=False),
        rec("rejection", "core", "delayed", 3600, score=5), rec("rejection", "core", "delayed", 7200, score=2),
    ])
    offer, rejection = rows
    assert (offer["kind"], offer["count"], offer["sent"], offer["median_delay_seconds"]) == ("offer", 5, 4, 6.0)
    assert offer["acceptance_rate"] == 0.6667 and offer["no_show_rate"] == 0.5
    assert offer["surveys"] == 0 and offer["average_survey_score"] is None
    assert rejection["median_delay_seconds"] == 5400.0 and rejection["average_survey_score"] == 3.5
    assert rejection["acceptance_rate"] is None and rejection["no_show_rate"] is None
    assert domain.timing_report([]) == []


# ----------------------------------------------------------------------------------------------------
# The contact, made by whichever event of the application comes first

def _change(status, sequence, **extra):
    from datetime import UTC, datetime
    at = datetime(2026, 11, 1, 12, 0, sequence, tzinfo=UTC)
    return {"status": status, "at": at, "sequence": sequence, "tier": "basic", "urgent": False,
            "requisition_title": "Barista", "division": "retail", "decided_at": at, "screening": {"match": 40},
            "interview": None, **extra}


RECEIVED = {"candidate_id": "cand_1", "name": "Li", "email": "sealed", "division": "retail",
            "received_at": "2026-11-01T12:00:00Z"}


def test_a_screen_out_before_the_address_waits_on_the_contact_and_is_planned_when_it_comes():
    first = domain.contact_status(None, _change("screened_out", 2))
    assert not first.touches_others and first.state["pending"]["status"] == "screened_out"
    assert first.state["notices"] == 0 and first.state["status"] == "screened_out"
    then = domain.contact_received(first.state, RECEIVED)
    assert then.plan == first.state["pending"] and "pending" not in then.state and then.touches_others
    assert then.state["status"] == "screened_out" and then.state["email"] == "sealed"


def test_an_override_before_the_address_leaves_nothing_to_say():
    early = domain.contact_status(None, _change("screened_out", 2)).state
    override = domain.contact_status(early, _change("shortlisted", 3))
    assert "pending" not in override.state and not override.touches_others  # nothing was created to cancel
    late = domain.contact_status(override.state, _change("screened_out", 2))  # the older one again, late
    assert late.state is None
    received = domain.contact_received(override.state, RECEIVED)
    assert received.plan is None and not received.touches_others


def test_received_first_then_the_intake_statuses():
    contact = {**domain.contact_received(None, RECEIVED).state, "_id": "app_1"}
    assert contact["notices"] == 0 and not domain.contact_received(None, RECEIVED).touches_others
    shortlisted = domain.contact_status(contact, _change("shortlisted", 2))
    assert not shortlisted.touches_others  # no notice exists: nothing to cancel, no timing to drop
    screened = domain.contact_status(contact, _change("screened_out", 2))
    assert screened.plan["status"] == "screened_out" and not screened.cancel_all
    # once notices exist (or for a contact from before they were counted), an override cancels them
    for notices in ({"notices": 2}, {}):
        known = {k: v for k, v in {**screened.state, **notices}.items() if k != "notices" or notices}
        override = domain.contact_status(known, _change("shortlisted", 3))
        assert override.cancel_all and override.drop_unsent_timing and override.plan is None


def test_an_offer_after_notices_cancels_overdue_reminders_and_outcomes_are_recorded():
    contact = {**RECEIVED, "notices": 1, "status": "awaiting_approval", "status_sequence": 5}
    offered = domain.contact_status(contact, _change("offered", 6))
    assert offered.cancel_overdue and offered.plan["status"] == "offered" and not offered.cancel_all
    accepted = domain.contact_status(offered.state, _change("accepted", 7))
    assert accepted.record_outcome and accepted.plan is None
    fresh = domain.contact_status({**RECEIVED, "notices": 0}, _change("accepted", 7))
    assert not fresh.touches_others  # no result notice, so no timing record to update
