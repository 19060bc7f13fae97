"""The notification service as a real process, with `python -m infra.smtp_capture`, RabbitMQ and MongoDB:
events published on the bus become emails in the capture directory, RPCs answer in api-v1's shapes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange

from infra.embedded_mongo import free_port
from infra.smtp_capture import find, read_body
from shared.bus import topology
from shared.bus.aio_rpc import AsyncRpcClient
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.timeutil import iso, utcnow
from shared.tokens import portal_url
from tests.support.event_keys import session_keys
from tests.support.infra import VhostAdmin, _with_vhost
from tests.support.sentinel import timer_ticks

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def ctx(role="hr", divisions=("retail",), name="alice") -> Caller:
    """A caller; the RPC client signs it for each call (`as_caller`)."""
    return Caller(key_id="k", name=name, role=role, divisions=tuple(divisions))


def wait_for(fn, timeout=15.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Platform:
    def __init__(self, rabbit_url: str, mail_dir: Path, loop: asyncio.AbstractEventLoop):
        self.rabbit_url = rabbit_url
        self.mail_dir = mail_dir
        self.loop = loop
        # signs callers with the secret the service process has (both from this environment)
        self.client = AsyncRpcClient(rabbit_url, name="notification-test", timeout=10,
                                     context_secret=Settings.from_env().context_secret)
        self.log_path: Path | None = None
        self.mongo_url: str | None = None
        self.database: str | None = None  # the service's own database, for what the API does not show
        self.metrics_url: str | None = None
        self.settings: Settings | None = None  # the service process's (from its environment)

    def call(self, method, context=None, **kwargs):
        return self.loop.run_until_complete(self.client.call("notification", method, as_caller=context or ctx(),
                                                             **kwargs))

    def publish(self, producer: str, event_type: str, payload: dict) -> EventEnvelope:
        """An event as `producer` would publish it, signed with its test key (tests/support/event_keys.py)."""
        body = session_keys().signed(producer, event_type, payload)
        exchange = Exchange(topology.events_exchange(producer), type="topic", durable=True)
        with Connection(self.rabbit_url, transport_options={"confirm_publish": True}) as conn:
            conn.Producer().publish(body, exchange=exchange, routing_key=topology.routing_key(event_type, payload),
                                    serializer="json", retry=True, declare=[exchange])
        return EventEnvelope.model_validate(body)

    def mail(self, to=None, subject_contains=None):
        return find(self.mail_dir, to=to, subject_contains=subject_contains)


@contextlib.contextmanager
def running_platform(test_infra, tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Platform]:
    """SMTP capture and the notification service as processes, on a vhost of their own."""
    vhost = f"h_notification_{secrets.token_hex(4)}"
    admin = VhostAdmin(test_infra.rabbit_url)
    admin.create(vhost)
    rabbit_url = _with_vhost(test_infra.rabbit_url, vhost)
    topology.declare(rabbit_url)  # events published before the service is up wait in its inbox
    procs: list[subprocess.Popen] = []
    logs = []
    loop = asyncio.new_event_loop()
    try:
        smtp_port, mail_dir = free_port(), tmp / "mail"
        smtp_log = open(tmp / "smtp.log", "w")  # noqa: SIM115
        logs.append(smtp_log)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "infra.smtp_capture", "--host", "127.0.0.1", "--port", str(smtp_port),
             "--dir", str(mail_dir)], cwd=ROOT, stdout=smtp_log, stderr=subprocess.STDOUT))
        namespace = f"{test_infra.namespace}n{secrets.token_hex(3)}"
        metrics_port = free_port()  # its /metrics: the dispatcher's ticks are a test's sentinel
        env = {**os.environ, "RABBIT_URL": rabbit_url, "MONGO_URL": test_infra.mongo_url,
               "HIRELOOP_NAMESPACE": namespace, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
               "METRICS_PORT": str(metrics_port), "PYTHONPATH": str(ROOT), **session_keys().env_for("notification"),
               **(extra_env or {})}
        service_log = open(tmp / "notification.log", "w")  # noqa: SIM115
        logs.append(service_log)
        procs.append(subprocess.Popen([sys.executable, "-m", "services.notification"], cwd=ROOT, env=env,
                                      stdout=service_log, stderr=subprocess.STDOUT))
        p = Platform(rabbit_url, mail_dir, loop)
        p.log_path = tmp / "notification.log"
        p.mongo_url, p.database = test_infra.mongo_url, f"{namespace}_notification"
        p.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        p.settings = Settings.from_env(env)
        loop.run_until_complete(p.client.connect())

        def healthy():
            try:
                return p.call("health", timeout=2)["store"] == "ok"
            except Exception:  # noqa: BLE001 - not up yet
                return False

        assert wait_for(healthy, timeout=60, interval=0.5), (tmp / "notification.log").read_text()[-3000:]
        yield p
        loop.run_until_complete(p.client.close())
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for f in logs:
            f.close()
        loop.close()
        admin.delete(vhost)


def received(app_id, cand_id, email, division="retail", tier="basic", urgent=False, title="Barista"):
    return {
        "application_id": app_id, "candidate_id": cand_id, "source": "referral", "received_at": iso(utcnow()),
        "requisition": {"id": f"req_{division}", "title": title, "division": division, "department": "stores",
                        "tier": tier, "urgent": urgent, "required_skills": ["Coffee"]},
        "candidate": {"name": "Li Wei", "email": email, "skills": ["Coffee"], "years_experience": 3},
    }


def status_changed(app_id, cand_id, status, previous, division="retail", tier="basic", urgent=False,
                   title="Barista"):
    return {
        "application_id": app_id, "candidate_id": cand_id, "requisition_id": f"req_{division}",
        "requisition_title": title, "division": division, "tier": tier, "urgent": urgent, "source": "referral",
        "previous_status": previous, "status": status, "at": iso(utcnow()),
        "screening": {"passed": True, "score": 88, "match": 75, "matched_skills": ["Coffee", "POS"],
                      "missing_skills": ["Latte Art"], "reasons": ["Has all 1 required skill: Coffee."]},
        "interview": {"interview_id": "int_1", "average": 4.33, "by_competency": {"craft": 4.5, "service": 4.17},
                      "recommendations": {"strong_yes": 1, "yes": 2}, "discrepancy": {"flagged": False},
                      "highlights": ["Beautiful latte art", "Calm with difficult customers"]},
    }


def unexpected_errors(log_path: Path) -> list[str]:
    """Error lines of the service's log, but for the expected one: an event before its application."""
    import json

    problems = []
    for line in log_path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record["level"] not in ("error", "critical"):
            continue
        if "ContactNotYetKnown" in record.get("exc", "") + record.get("msg", "") or "not received yet" in \
                record.get("msg", ""):
            continue
        problems.append(record["msg"][:300])
    return problems


def uid(prefix):
    return f"{prefix}_{secrets.token_hex(6)}"


def sentinel_offer(platform, division: str = "retail") -> None:
    """Publish an offer of a new application and wait for its email: what was published before it through the
    same queue and handlers has had its effect by then (instead of sleeping to see nothing more happen)."""
    app, cand, email = uid("app"), uid("cand"), f"{uid('sentinel')}@example.com"
    platform.publish("sourcing", "application_received", received(app, cand, email, division))
    platform.publish("sourcing", "application_status_changed", status_changed(app, cand, "offered", "interviewed",
                                                                              division))
    assert wait_for(lambda: platform.mail(to=email, subject_contains="offer")), "the sentinel offer never came"


def test_policies_by_rpc(platform):
    default = platform.call("get_policy", division="retail")
    assert default == {"division": "retail", "guide_after": 3600, "hr_confirm_after": 86400,
                       "urgent_confirm_within": 7200, "approval_sla": 86400, "rejection_delay": 0,
                       "survey_after": 172800, "locale": "en", "reuse_interview_within": 180 * 86400,
                       "hr_email": None, "group_hr_email": None, "hr_webhook_url": None,
                       "hr_webhook_secret": None, "hr_webhook_secret_set": False,
                       "share_evidence": True, "screen_out_rejection_delay": 86400, "reply_to": None,
                       "offer_expiry_warning": 86400, "interview_reminders": [86400, 7200],
                       "scorecard_reminder_after": 7200, "slack_webhook_url": None, "slack_webhook_set": False,
                       "teams_webhook_url": None, "teams_webhook_set": False}
    stored = platform.call("put_policy", division="retail", guide_after=1, hr_email="people@x.io")
    assert stored["guide_after"] == 1 and stored["survey_after"] == 172800 and stored["hr_email"] == "people@x.io"
    # PUT replaces: a GET's body sent back is accepted (its division is the policy's), omitted fields go back
    # to defaults
    assert stored["division"] == "retail"
    again = platform.call("put_policy", **{**stored, "hr_email": None})
    assert again == {**stored, "hr_email": None}
    assert platform.call("get_policy", division="retail", context=ctx("recruiter")) == again
    with pytest.raises(Forbidden):
        platform.call("put_policy", division="retail", context=ctx("recruiter"))
    with pytest.raises(Forbidden):
        platform.call("put_policy", division="logistics")
    with pytest.raises(NotFound):
        platform.call("get_policy", division="logistics")
    with pytest.raises(Invalid) as err:
        platform.call("put_policy", division="retail", guide_after=-1)
    assert err.value.field == "guide_after"
    with pytest.raises(Invalid):
        platform.call("put_policy", division="retail", bogus=1)
    assert platform.call("get_policy", division="logistics", context=ctx("admin", ()))["guide_after"] == 3600


def test_basic_offer_with_evidence_goes_out_once_then_the_guide(platform):
    platform.call("put_policy", division="retail", guide_after=1)
    app, cand, email = uid("app"), uid("cand"), f"{uid('li')}@example.com"
    platform.publish("sourcing", "application_received", received(app, cand, email))
    event = status_changed(app, cand, "offered", "interviewed")
    started = time.monotonic()
    platform.publish("sourcing", "application_status_changed", event)

    offers = wait_for(lambda: platform.mail(to=email, subject_contains="offer"))
    assert len(offers) == 1, platform.mail()
    assert time.monotonic() - started < 5
    body = read_body(platform.mail_dir, offers[0])
    assert "Interview average: 4.3 / 5" in body
    assert "Skills match: 75%" in body
    assert "Beautiful latte art" in body and "Calm with difficult customers" in body
    assert "ID" in body and "bank details" in body and "start date" in body
    assert portal_url("a", app, platform.settings) in body
    assert offers[0]["notice_id"].startswith("ntc_")

    guide = wait_for(lambda: platform.mail(to=email, subject_contains="onboarding guide"), timeout=10)
    assert len(guide) == 1

    # The same change announced again (a new event id): the dedupe key keeps it to one offer. Sentinel: an
    # offer of another application, published after it and handled the same way, is out.
    platform.publish("sourcing", "application_status_changed", event)
    sentinel_offer(platform)
    assert len(platform.mail(to=email, subject_contains="offer")) == 1
    assert len(platform.mail(to=email)) == 2  # offer + guide, nothing else to the candidate

    items = platform.call("list_for_application", application_id=app)["items"]
    by_kind = {i["kind"]: i for i in items}
    assert set(by_kind) == {"offer", "guide", "hr_confirm_reminder"}
    assert by_kind["offer"]["status"] == "sent" and by_kind["offer"]["sent_at"]
    assert by_kind["hr_confirm_reminder"]["status"] == "scheduled"
    assert by_kind["hr_confirm_reminder"]["recipient"] == "hr-retail@hireloop.local"
    assert set(by_kind["offer"]) >= {"id", "kind", "channel", "recipient", "status", "scheduled_for", "sent_at",
                                     "subject", "body"}
    assert by_kind["offer"]["channel"] == "email" and by_kind["offer"]["recipient"] == email
    with pytest.raises(NotFound):
        platform.call("list_for_application", application_id=app, context=ctx("hr", ("logistics",)))
    with pytest.raises(Forbidden):
        platform.call("list_for_application", application_id=app, context=ctx("interviewer"))

    # HR confirmed by phone: the reminder is cancelled.
    platform.publish("sourcing", "offer_confirmation_recorded", {
        "application_id": app, "division": "retail", "result": "confirmed", "by": "alice", "at": iso(utcnow())})
    assert wait_for(lambda: {i["kind"]: i["status"] for i in platform.call(
        "list_for_application", application_id=app)["items"]}["hr_confirm_reminder"] == "cancelled")


def test_status_change_before_the_application_is_known_waits_on_its_contact(platform):
    app, cand, email = uid("app"), uid("cand"), f"{uid('early')}@example.com"
    platform.publish("sourcing", "application_status_changed", status_changed(app, cand, "offered", "interviewed"))
    # kept on the application's contact, not set aside to wait: nothing is parked, nothing sent yet
    sentinel_offer(platform)
    assert platform.mail(to=email) == []
    assert f"application {app} not received yet" not in platform.log_path.read_text()
    platform.publish("sourcing", "application_received", received(app, cand, email))
    [offer] = wait_for(lambda: platform.mail(to=email, subject_contains="offer"))
    assert "Beautiful latte art" in read_body(platform.mail_dir, offer)  # the status's evidence was kept


def test_urgent_core_offer_escalates_and_decline_cancels(platform):
    app, cand, email = uid("app"), uid("cand"), f"{uid('core')}@example.com"
    platform.publish("sourcing", "application_received", received(app, cand, email, "logistics", "core", True,
                                                                  "Fleet Manager"))
    platform.publish("sourcing", "application_status_changed", status_changed(
        app, cand, "offered", "awaiting_approval", "logistics", "core", True, "Fleet Manager"))
    [offer] = wait_for(lambda: platform.mail(to=email, subject_contains="Offer of employment"))
    body = read_body(platform.mail_dir, offer)
    assert portal_url("a", app, platform.settings) in body and "4.3" not in body
    context = ctx("hr", ("logistics",))
    kinds = {i["kind"]: i for i in platform.call("list_for_application", application_id=app, context=context)["items"]}
    assert set(kinds) == {"offer", "guide", "hr_confirm_reminder", "confirm_escalation"}
    assert kinds["confirm_escalation"]["recipient"] == "group-hr@hireloop.local"

    platform.publish("sourcing", "application_status_changed", status_changed(
        app, cand, "declined", "offered", "logistics", "core", True, "Fleet Manager"))

    def statuses():
        items = platform.call("list_for_application", application_id=app, context=context)["items"]
        return {i["kind"]: i["status"] for i in items}

    assert wait_for(lambda: statuses()["guide"] == "cancelled")
    assert statuses() == {"offer": "sent", "guide": "cancelled", "hr_confirm_reminder": "cancelled",
                          "confirm_escalation": "cancelled"}


def test_rejection_now_survey_later_and_progress_and_reengagement(platform):
    app, cand, email = uid("app"), uid("cand"), f"{uid('rej')}@example.com"
    platform.publish("sourcing", "application_received", received(app, cand, email, tier="core"))
    expected_by = "2031-05-04T10:00:00Z"
    platform.publish("interview_feedback", "approvals_requested", {
        "application_id": app, "division": "retail", "steps": [
            {"id": "apv_1", "step": 1, "role": "hr", "status": "pending", "expected_by": expected_by},
            {"id": "apv_2", "step": 2, "role": "admin", "status": "pending", "expected_by": "2031-05-05T10:00:00Z"},
        ]})
    [progress] = wait_for(lambda: platform.mail(to=email, subject_contains="Update on your application"))
    assert "division HR review" in read_body(platform.mail_dir, progress)
    assert "2031-05-04 10:00 UTC" in read_body(platform.mail_dir, progress)

    platform.publish("sourcing", "application_status_changed", status_changed(app, cand, "rejected", "interviewed",
                                                                              tier="core"))
    [rejection] = wait_for(lambda: [e for e in platform.mail(to=email)
                                    if e["subject"].startswith("Your application for")])
    assert "not to move forward" in read_body(platform.mail_dir, rejection)
    items = platform.call("list_for_application", application_id=app)["items"]
    survey = next(i for i in items if i["kind"] == "survey")
    assert survey["status"] == "scheduled" and portal_url("a", app, platform.settings) in survey["body"]

    reg = uid("reg")
    platform.publish("talent_pool", "reengagement_requested", {
        "reengagement_id": reg, "requisition_id": "req_new", "requisition_title": "Head Barista",
        "division": "retail", "candidate_id": cand, "requested_by": "rita"})
    [re] = wait_for(lambda: platform.mail(to=email, subject_contains="Head Barista"))
    body = read_body(platform.mail_dir, re)
    assert portal_url("r", reg, platform.settings) in body and "Barista" in body

    everything = platform.call("list_for_candidate", candidate_id=cand)["items"]
    assert {i["kind"] for i in everything} == {"progress", "rejection", "survey", "reengagement", "approval_overdue"}
    # the rejection ended the approval chain: the approvers' overdue reminders will not go out
    assert {i["status"] for i in everything if i["kind"] == "approval_overdue"} == {"cancelled"}
    reengagement = next(i for i in everything if i["kind"] == "reengagement")
    assert reengagement["application_id"] is None and reengagement["reengagement_id"] == reg
    assert platform.call("list_for_candidate", candidate_id=cand, context=ctx("hr", ("logistics",)))["items"] == []


def _step(n, role, expected_by, status="pending", decided_by=None):
    return {"id": f"apv_{n}", "step": n, "role": role, "status": status, "expected_by": iso(expected_by),
            "decided_at": iso(utcnow()) if decided_by else None, "decided_by": decided_by}


def test_core_progress_per_step_overdue_reminder_to_approvers_and_offer_after_the_last(platform):
    from datetime import timedelta

    app, cand, email = uid("app"), uid("cand"), f"{uid('core')}@example.com"
    division = uid("div")
    platform.call("put_policy", division=division, guide_after=3600,
                  context=ctx("admin", ()))
    hr = ctx("hr", (division,))
    platform.publish("sourcing", "application_received", received(app, cand, email, division, "core",
                                                                  title="Plant Director"))
    platform.publish("sourcing", "application_status_changed", status_changed(
        app, cand, "awaiting_approval", "interviewed", division, "core", title="Plant Director"))
    # step 1 is due in 2 s and will be late; step 2 has a minute
    first, second = utcnow() + timedelta(seconds=2), utcnow() + timedelta(seconds=60)
    platform.publish("interview_feedback", "approvals_requested", {
        "application_id": app, "division": division,
        "steps": [_step(1, "hr", first), _step(2, "admin", second)]})
    [submitted] = wait_for(lambda: platform.mail(to=email, subject_contains="Update on your application"))
    assert "division HR review" in read_body(platform.mail_dir, submitted)

    hr_address = f"hr-{division}@hireloop.local"
    [overdue] = wait_for(lambda: platform.mail(to=hr_address, subject_contains="[Overdue]"), timeout=15)
    body = read_body(platform.mail_dir, overdue)
    assert "division HR review" in overdue["subject"] and app in body and "still pending" in body

    platform.publish("interview_feedback", "approval_step_decided", {
        "application_id": app, "division": division, "chain_status": "pending",
        "step": _step(1, "hr", first, "approved", "hana"), "next_step": _step(2, "admin", second)})
    progress = wait_for(lambda: [m for m in platform.mail(to=email, subject_contains="Update on your application")
                                 if m["notice_id"] != submitted["notice_id"]])
    assert "group HR approval" in read_body(platform.mail_dir, progress[0])
    assert not platform.mail(to=email, subject_contains="offer")  # no offer before the last approval

    platform.publish("interview_feedback", "approval_step_decided", {
        "application_id": app, "division": division, "chain_status": "approved_all",
        "step": _step(2, "admin", second, "approved", "gina"), "next_step": None})
    platform.publish("sourcing", "application_status_changed", status_changed(
        app, cand, "offered", "awaiting_approval", division, "core", title="Plant Director"))
    [offer] = wait_for(lambda: platform.mail(to=email, subject_contains="Offer of employment"))

    def by_step():
        items = platform.call("list_for_application", application_id=app, context=hr)["items"]
        return {(i["kind"], i["step"]): i["status"] for i in items}

    assert wait_for(lambda: by_step().get(("approval_overdue", 2)) == "cancelled")
    notices = by_step()
    assert notices[("approval_overdue", 1)] == "sent" and notices[("progress", 0)] == "sent"
    assert notices[("progress", 1)] == "sent" and notices[("offer", 0)] == "sent"
    assert len(platform.mail(to=hr_address, subject_contains="[Overdue]")) == 1
    group = platform.call("list_for_application", application_id=app, context=hr)["items"]
    assert next(i for i in group if i["kind"] == "approval_overdue" and i["step"] == 2)["recipient"] == \
        "group-hr@hireloop.local"


def _decided(event, outcome, seconds_ago):
    from datetime import timedelta

    return {**event, "decision": {"outcome": outcome, "decided_by": "hana",
                                  "decided_at": iso(utcnow() - timedelta(seconds=seconds_ago))}}


def test_timing_report_from_a_seeded_history(platform):
    """Offers and rejections with known decision times, outcomes and survey answers; the report's figures
    are computed by hand below."""
    division = uid("div")
    admin = ctx("admin", ())
    # surveys due with the rejection: the report counts them, not when they went out
    platform.call("put_policy", division=division, survey_after=0, context=admin)

    def run(tier, result, outcomes, seconds_ago, survey=None):
        app, cand, email = uid("app"), uid("cand"), f"{uid('m')}@example.com"
        platform.publish("sourcing", "application_received", received(app, cand, email, division, tier))
        status = "offered" if result == "offer" else "rejected"
        platform.publish("sourcing", "application_status_changed", _decided(status_changed(
            app, cand, status, "interviewed", division, tier), "pass" if result == "offer" else "fail", seconds_ago))
        wait_for(lambda: any(i["kind"] == result and i["status"] == "sent" for i in platform.call(
            "list_for_application", application_id=app, context=admin)["items"]))
        previous = status
        for outcome in outcomes:
            time.sleep(0.05)
            platform.publish("sourcing", "application_status_changed", status_changed(
                app, cand, outcome, previous, division, tier))
            previous = outcome
        if survey is not None:
            wait_for(lambda: platform.call("get_survey", application_id=app, context=system)["sent"])
            platform.call("record_survey", application_id=app, score=survey, comment="ok",
                          context=system)
        return app

    system = Caller.system("portal")
    run("basic", "offer", ["accepted", "hired"], 10)
    run("basic", "offer", ["declined"], 10)
    run("basic", "offer", ["accepted", "no_show"], 30)
    run("core", "offer", ["accepted"], 100)
    rejected = run("basic", "rejection", [], 5, survey=4)
    run("basic", "rejection", [], 5, survey=2)
    never_surveyed = run("basic", "offer", [], 10)

    with pytest.raises(Conflict) as again:
        platform.call("record_survey", application_id=rejected, score=5, context=system)
    assert again.value.code == "already_answered"
    with pytest.raises(Conflict):
        platform.call("record_survey", application_id=never_surveyed, score=5, context=system)
    with pytest.raises(Invalid) as bad:
        platform.call("record_survey", application_id=rejected, score=6, context=system)
    assert bad.value.field == "score"
    with pytest.raises(Forbidden):
        platform.call("record_survey", application_id=rejected, score=5, context=ctx("hr", (division,)))

    def report():
        return {(g["kind"], g["tier"], g["mode"]): g for g in platform.call(
            "timing_report", division=division, context=ctx("hr", (division,)))["groups"]}

    wait_for(lambda: report().get(("offer", "basic", "immediate"), {}).get("outcomes", {}).get("no_show") == 1
             and report()[("offer", "basic", "immediate")]["outcomes"]["hired"] == 1)
    groups = report()
    assert set(groups) == {("offer", "basic", "immediate"), ("offer", "core", "after_approval"),
                           ("rejection", "basic", "immediate")}
    basic = groups[("offer", "basic", "immediate")]
    assert basic["count"] == 4 and basic["sent"] == 4
    assert 10 <= basic["median_delay_seconds"] < 14  # delays ~10, ~10, ~10, ~30 s: the median is ~10 s
    assert basic["outcomes"] == {"accepted": 0, "declined": 1, "hired": 1, "no_show": 1, "withdrawn": 0}
    assert basic["acceptance_rate"] == 0.6667  # hired and no_show had accepted; 2 of the 3 who answered
    assert basic["no_show_rate"] == 0.5
    core = groups[("offer", "core", "after_approval")]
    assert core["count"] == 1 and 100 <= core["median_delay_seconds"] < 110
    assert core["acceptance_rate"] == 1.0 and core["no_show_rate"] == 0.0
    rejection = groups[("rejection", "basic", "immediate")]
    assert rejection["count"] == 2 and rejection["surveys"] == 2 and rejection["average_survey_score"] == 3.0
    assert rejection["acceptance_rate"] is None and 5 <= rejection["median_delay_seconds"] < 9

    assert platform.call("timing_report", division=None, context=ctx("hr", ("elsewhere",)))["groups"] == []
    with pytest.raises(NotFound):
        platform.call("timing_report", division=division, context=ctx("hr", ("elsewhere",)))
    assert platform.call("timing_report", division=division, end="2020-01-01", context=admin)["groups"] == []
    with pytest.raises(Invalid) as bad_date:
        platform.call("timing_report", division=division, start="yesterday", context=admin)
    assert bad_date.value.field == "from"


def test_second_scale_policy_delays_are_kept_for_rejection_survey_escalation_and_reminder(platform):
    """Delays are lower bounds the scheduler keeps (a notice is never early); when each mail arrived is the
    capture's own timestamp, so a slow test machine makes arrivals later, never the assertions wrong."""
    from datetime import datetime

    division = uid("div")
    platform.call("put_policy", division=division, context=ctx("admin", ()), rejection_delay=2, survey_after=4,
                  urgent_confirm_within=1, hr_confirm_after=3, group_hr_email="group-people@example.org")

    rejected, cand, email = uid("app"), uid("cand"), f"{uid('late')}@example.com"
    offered, cand2, email2 = uid("app"), uid("cand"), f"{uid('urgent')}@example.com"
    platform.publish("sourcing", "application_received", received(rejected, cand, email, division))
    platform.publish("sourcing", "application_received", received(offered, cand2, email2, division, urgent=True))
    published = utcnow()
    platform.publish("sourcing", "application_status_changed", status_changed(rejected, cand, "rejected",
                                                                              "interviewed", division))
    platform.publish("sourcing", "application_status_changed", status_changed(offered, cand2, "offered",
                                                                              "interviewed", division, urgent=True))

    def arrival(**query) -> float:
        found = wait_for(lambda: platform.mail(**query), timeout=30)
        assert len(found) == 1, (query, found)
        return (datetime.fromisoformat(found[0]["at"].replace("Z", "+00:00")) - published).total_seconds()

    offer = arrival(to=email2, subject_contains="offer")
    escalation = arrival(to="group-people@example.org")
    reminder = arrival(to=f"hr-{division}@hireloop.local")
    rejection = arrival(to=email, subject_contains="Your application for")
    survey = arrival(to=email, subject_contains="experience")
    assert escalation >= 1 and reminder >= 3 and rejection >= 2 and survey >= 4, (escalation, reminder, rejection,
                                                                                    survey)
    assert offer < rejection and escalation < reminder and rejection < survey
    assert max(offer, escalation, reminder, rejection, survey) < 20  # and none is lost in the queue


def test_no_unexpected_errors_in_the_service_log(platform):
    """Handled failures are expected (a status change before its application); anything else is a bug."""
    # a few dispatcher ticks and outbox sweeps, counted on the process's /metrics
    timer_ticks([platform.metrics_url], "dispatch_due")
    timer_ticks([platform.metrics_url], "relay_outbox")
    assert unexpected_errors(platform.log_path) == []
    assert platform.call("health")["outbox_backlog"] == 0
