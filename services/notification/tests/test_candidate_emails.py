"""The candidate's emails of issue 18, through the shell with a real MongoDB: the acknowledgement a self-applied
candidate gets at once, and the talent community's double opt-in email; each in the candidate's language with
their portal link."""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from services.notification.service import NotificationService, Retries
from services.notification.store import NotificationStore
from services.notification.webhook import WebhookSender
from shared.config import Settings
from shared.crypto import seal
from shared.erasure import ERASED
from shared.signing import BadSignature
from shared.storage import AlreadyHandled
from shared.timeutil import iso, utcnow
from shared.tokens import portal_url, read_portal_token
from tests.support.shell import InProcessBus, deliver

from .test_service import ADMIN, HR, RecordingMailer

SETTINGS = Settings()


@pytest.fixture
def store(make_store):
    return make_store(NotificationStore)


@pytest.fixture
def mailer():
    return RecordingMailer()


@pytest.fixture
def shell(store, mailer):
    def make(caller=HR):
        return worker_factory(NotificationService, store=store, bus=InProcessBus(store, caller), mailer=mailer,
                              webhooks=WebhookSender(), retries=Retries(backoff_base=5, max_attempts=5),
                              reply_to_fallback=None, settings=SETTINGS)
    return make
TEXT = {"en": ("We received your application for Barista", "candidate portal"),
        "zh-CN": ("我们已收到您对 Barista 岗位的申请", "候选人门户")}
CONFIRM = {"en": "Confirm that you want to join our talent community", "zh-CN": "请确认加入我们的人才社区"}


def received(svc, app_id, *, self_applied=True, locale="en", event_id=None):
    return deliver(svc.on_application_received, "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": "cand_1", "source": "careers", "received_at": iso(utcnow()),
        "requisition": {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores",
                        "tier": "basic", "urgent": False, "required_skills": ["Coffee"]},
        "candidate": {"name": "Li Wei", "email": seal("li@example.com"), "skills": ["Coffee"]},
        "self_applied": self_applied, "locale": locale}, event_id=event_id)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_self_applied_candidate_is_acknowledged_at_once_in_their_language(shell, mailer, store, locale):
    received(shell(), "app_1", locale=locale)
    [sent] = mailer.sent
    subject, portal_words = TEXT[locale]
    assert sent["kind"] == "acknowledgement" and sent["recipient"] == "li@example.com"
    assert sent["subject"] == subject and "Li Wei" in sent["body"] and portal_words in sent["body"]
    link = portal_url("a", "app_1", SETTINGS)
    assert link in sent["body"]
    assert read_portal_token(link.rsplit("/", 1)[1], SETTINGS.portal_secret) == ("a", "app_1")
    contact = store.get_contact("app_1")
    assert "ack_due" not in contact and contact["notices"] == 1 and contact["locale"] == locale


def test_the_acknowledgement_is_made_once_and_only_for_self_applied_candidates(shell, mailer, store):
    env = received(shell(), "app_1", locale="en")
    with pytest.raises(AlreadyHandled):  # the same event again: nothing new
        received(shell(), "app_1", event_id=env.event_id)
    received(shell(), "app_2", self_applied=False)  # a recruiter's submission: no acknowledgement
    assert [n["application_id"] for n in mailer.sent] == ["app_1"]
    assert store.db.notices.count_documents({}) == 1


def test_the_candidate_s_locale_wins_over_the_division_s_for_their_later_emails(shell, mailer):
    shell(ADMIN).put_policy(division="retail", rejection_delay=0, survey_after=0, locale="en")
    received(shell(), "app_1", locale="zh-CN")
    deliver(shell().on_status_changed, "sourcing", "application_status_changed", {
        "sequence": 2, "application_id": "app_1", "candidate_id": "cand_1", "requisition_id": "req_1",
        "requisition_title": "Barista", "division": "retail", "tier": "basic", "urgent": False,
        "source": "careers", "previous_status": "interviewed", "status": "rejected", "at": iso(utcnow()),
        "decision": {"outcome": "fail", "decided_by": "hana", "decided_at": iso(utcnow())}})
    shell().dispatch_due()
    kinds = {n["kind"]: n for n in mailer.sent}
    assert set(kinds) == {"acknowledgement", "rejection", "survey"}
    assert all(any("\u4e00" <= c <= "\u9fff" for c in n["subject"]) for n in mailer.sent)  # all in Chinese


def signup(svc, member_id="mem_1", locale="en", request=1, name="Ana Lima"):
    return deliver(svc.on_community_signup_requested, "talent_pool", "community_signup_requested", {
        "candidate_id": member_id, "name": name, "email": seal("ana@example.org"), "locale": locale,
        "request": request, "requested_at": iso(utcnow())})


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_community_confirmation_carries_the_confirm_link_and_the_member_s_portal_link(shell, mailer, locale):
    signup(shell(), locale=locale)
    [sent] = mailer.sent
    assert sent["kind"] == "community_confirmation" and sent["recipient"] == "ana@example.org"
    assert sent["subject"] == CONFIRM[locale] and "Ana Lima" in sent["body"]
    portal = portal_url("m", "mem_1", SETTINGS)
    token = portal.rsplit("/", 1)[1]
    assert f"{SETTINGS.public_url.rstrip('/')}/careers/community/confirm/{token}" in sent["body"]
    assert portal in sent["body"]
    assert read_portal_token(token, SETTINGS.portal_secret) == ("m", "mem_1")
    with pytest.raises(BadSignature):
        read_portal_token(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], SETTINGS.portal_secret)


def test_joining_again_sends_the_link_again_and_a_redelivery_does_not(shell, mailer, store):
    env = signup(shell(), request=1)
    with pytest.raises(AlreadyHandled):
        deliver(shell().on_community_signup_requested, "talent_pool", "community_signup_requested",
                env.payload, event_id=env.event_id)
    signup(shell(), request=2)
    assert [n["step"] for n in mailer.sent] == [1, 2]


def test_a_member_who_left_is_forgotten_and_hears_nothing_more(shell, mailer, store):
    signup(shell())
    deliver(shell().on_community_member_left, "talent_pool", "community_member_left",
            {"candidate_id": "mem_1", "left_at": iso(utcnow())})
    assert store.get_member("mem_1") is None
    [notice] = list(store.db.notices.find())
    assert notice["recipient"] == ERASED and notice["body"] == ERASED and "Ana" not in str(notice)
    signup(shell(), request=2)  # a late request about them: skipped
    assert len(mailer.sent) == 1 and store.get_member("mem_1") is None


def test_a_re_engaged_member_is_written_to_with_their_member_link(shell, mailer):
    signup(shell(), locale="zh-CN")
    deliver(shell().on_reengagement_requested, "talent_pool", "reengagement_requested", {
        "reengagement_id": "reg_1", "requisition_id": "req_9", "requisition_title": "Head Barista",
        "division": "retail", "candidate_id": "mem_1", "requested_by": "alice"})
    sent = mailer.sent[-1]
    assert sent["kind"] == "reengagement" and sent["recipient"] == "ana@example.org"
    assert portal_url("r", "reg_1", SETTINGS) in sent["body"] and portal_url("m", "mem_1", SETTINGS) in sent["body"]
    assert "人才社区" in sent["body"]

