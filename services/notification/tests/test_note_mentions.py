"""A note's mentions (issue 20, `note_added`): each mentioned user gets an email in their locale through the real
SMTP sender to a local capture, and the division's chat a mention; the note's words are in neither, and a
redelivered event sends nothing twice."""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from infra.smtp_capture import SmtpCapture, find, read_body, read_message
from services.notification.destinations import AllowList
from services.notification.sender import SmtpSender
from services.notification.service import NotificationService, Retries
from services.notification.store import NotificationStore
from services.notification.tests.test_chat import ADMIN, HR, Listener, deliver
from services.notification.webhook import ChatSender, WebhookSender
from shared.config import Settings
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.crypto import seal
from shared.timeutil import iso, utcnow
from tests.support.shell import InProcessBus

LOCAL = AllowList.parse("127.0.0.1")


@pytest.fixture
def capture(tmp_path):
    with SmtpCapture(tmp_path / "mail") as cap:
        yield cap


@pytest.fixture
def shell(make_store, capture):
    store = make_store(NotificationStore)
    mailer = SmtpSender(capture.url, "hireloop <no-reply@hireloop.local>", timeout=5)

    def make(caller=HR):
        return worker_factory(NotificationService, store=store, bus=InProcessBus(store, caller), mailer=mailer,
                              webhooks=WebhookSender(allow=LOCAL), chats=ChatSender(allow=LOCAL),
                              retries=Retries(backoff_base=0, max_attempts=5), reply_to_fallback=None,
                              settings=Settings(public_url="https://hire.example"))
    return make


def note_added(mentions):
    return {"note_id": "note_1", "application_id": "app_1", "candidate_id": "cand_1", "requisition_id": "req_1",
            "requisition_title": "Barista", "division": "retail", "author": "Rita", "created_at": iso(utcnow()),
            "mentions": [{**m, "email": seal(m["email"])} for m in mentions]}


def test_each_mentioned_user_is_emailed_in_their_locale_and_the_chat_told_once(shell, capture):
    with Listener() as listener:
        shell(ADMIN).put_policy(division="retail", slack_webhook_url=listener.url("/slack"))
        deliver(shell(), "application_received", {
            "application_id": "app_1", "candidate_id": "cand_1", "source": "referral", "received_at": iso(utcnow()),
            "requisition": {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores",
                            "tier": "basic", "urgent": False, "required_skills": ["Coffee"]},
            "candidate": {"name": "Li Wei", "email": seal("li.wei@example.com"), "skills": ["Coffee"]}})
        payload = note_added([
            {"user_id": "usr_rosa", "name": "Rosa", "email": "rosa@example.com", "locale": "en"},
            {"user_id": "usr_mei", "name": "Mei", "email": "mei@example.com", "locale": "zh-CN"}])
        env = EventEnvelope(type="note_added", producer="sourcing", payload=payload)
        model = EVENT_MODELS[("sourcing", "note_added")].model_validate(payload)
        shell().on_note_added(model, env)
        shell().on_note_added(model, EventEnvelope(type="note_added", producer="sourcing", payload=payload))
        shell().dispatch_due()

        [rosa] = find(capture.directory, to="rosa@example.com")
        assert read_message(capture.directory, rosa)["Subject"] == "Rita mentioned you (Barista)"
        body = read_body(capture.directory, rosa)
        assert "Hello Rosa" in body and "a note" in body and "https://hire.example/console/applications/app_1" in body
        [mei] = find(capture.directory, to="mei@example.com")
        assert "提及了您" in read_message(capture.directory, mei)["Subject"]
        assert "一条备注" in read_body(capture.directory, mei)
        assert find(capture.directory, to="li.wei@example.com") == []  # never the candidate
        texts = [p.json["text"] for p in listener.at("/slack")]
        assert sorted(texts) == ["Rita mentioned Mei in a note", "Rita mentioned Rosa in a note"]
