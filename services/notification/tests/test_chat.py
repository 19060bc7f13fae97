"""A division's chat (services/notification/chat.py): the Slack and Teams formats against their documented shapes,
the chat hosts, the policy's write-only sealed URLs, and the shell (tests/support/shell.py, real MongoDB) posting
to a real local HTTP listener (allowed by the operator's allow-list, as a test listener must be)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from nameko.testing.services import worker_factory

from services.notification import chat
from services.notification.destinations import AllowList, DestinationRefused
from services.notification.service import NotificationService, Retries
from services.notification.store import NotificationStore
from services.notification.webhook import ChatSender, WebhookSender
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.contracts.commands import NotificationPolicy
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.errors import Invalid
from shared.timeutil import iso, utcnow
from tests.support.shell import InProcessBus

HR = Caller(key_id="k1", name="alice", role="hr", divisions=("retail",))
ADMIN = Caller(key_id="k5", name="root", role="admin", divisions=())
LOCAL = AllowList.parse("127.0.0.1")
SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX"
TEAMS_URL = ("https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"
             "?api-version=2016-06-01&sig=s3cr3t")


# ---------------------------------------------------------------------------------------------------- formats

def a_message(**kw) -> chat.Message:
    defaults = {"headline": "[Action] Confirm the offer to Li Wei (Barista) by phone",
                "facts": (("Role", "Barista"), ("Division", "retail"), ("Application", "app_1")),
                "link": "https://hire.example/console/applications/app_1", "link_label": "Open in hireloop",
                "footer": "hireloop · retail · hr_confirm_reminder"}
    return chat.Message(**{**defaults, **kw})


def test_slack_is_block_kit_with_a_text_fallback_a_section_a_context_and_a_link_button():
    body = json.loads(chat.encode(chat.SLACK, a_message()))
    assert set(body) == {"text", "blocks"}
    assert body["text"] == "[Action] Confirm the offer to Li Wei (Barista) by phone"
    section, context, actions = body["blocks"]
    assert section["type"] == "section" and section["text"] == {
        "type": "mrkdwn", "text": "*[Action] Confirm the offer to Li Wei (Barista) by phone*"}
    assert section["fields"] == [{"type": "mrkdwn", "text": "*Role*\nBarista"},
                                 {"type": "mrkdwn", "text": "*Division*\nretail"},
                                 {"type": "mrkdwn", "text": "*Application*\napp_1"}]
    assert context == {"type": "context",
                       "elements": [{"type": "mrkdwn", "text": "hireloop · retail · hr_confirm_reminder"}]}
    assert actions["type"] == "actions"
    [button] = actions["elements"]
    assert button["type"] == "button" and button["url"] == "https://hire.example/console/applications/app_1"
    assert button["text"] == {"type": "plain_text", "text": "Open in hireloop", "emoji": False}
    assert button["action_id"]


def test_slack_control_characters_are_escaped_and_limits_kept():
    # a candidate named to ping the whole channel, or to make a link, cannot
    body = chat.slack_payload(a_message(headline="<!channel> Tom & <https://evil.example|Jerry>",
                                        facts=tuple((f"k{i}", "v" * 2500) for i in range(12)),
                                        link_label="x" * 100))
    assert body["text"] == "&lt;!channel&gt; Tom &amp; &lt;https://evil.example|Jerry&gt;"
    assert "<" not in json.dumps(body["blocks"][0])
    fields = body["blocks"][0]["fields"]
    assert len(fields) == 10 and all(len(f["text"]) <= 2000 for f in fields)  # Block Kit: 10 fields, 2000 each
    assert len(body["blocks"][2]["elements"][0]["text"]["text"]) <= 75  # a button's text: 75
    long = chat.slack_payload(a_message(headline="y" * 5000))
    assert len(long["blocks"][0]["text"]["text"]) <= 3000 and len(long["text"]) <= 3000
    assert [b["type"] for b in chat.slack_payload(a_message(link=None))["blocks"]] == ["section", "context"]


def test_teams_is_an_adaptive_card_1_4_in_the_workflow_attachments():
    body = json.loads(chat.encode(chat.TEAMS, a_message()))
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert tuple(int(p) for p in card["version"].split(".")) >= (1, 4)
    headline, facts, footer = card["body"]
    assert headline == {"type": "TextBlock", "text": "[Action] Confirm the offer to Li Wei (Barista) by phone",
                        "weight": "Bolder", "size": "Medium", "wrap": True}
    assert facts == {"type": "FactSet", "facts": [{"title": "Role", "value": "Barista"},
                                                  {"title": "Division", "value": "retail"},
                                                  {"title": "Application", "value": "app_1"}]}
    assert footer["type"] == "TextBlock" and footer["isSubtle"] is True
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in hireloop",
                                "url": "https://hire.example/console/applications/app_1"}]


def test_a_scorecard_reminder_says_whose_and_a_mention_says_who_where_and_links_there():
    scorecard = chat.hr_message("scorecard_reminder", "Your scorecard for Li Wei (Barista) is missing", locale="en",
                                division="retail", title="Barista", application_id="app_1", interview_id="int_1",
                                link="https://hire.example/console/interviews/int_1", name="Li Wei", member="ann")
    assert scorecard.headline == "Scorecard missing: ann, interview with Li Wei (Barista)"
    assert ("Waiting for", "ann") in scorecard.facts and ("Interview", "int_1") in scorecard.facts
    mention = chat.mention_message("Ivan Petrov", "a note on application app_1", "https://hire.example/n/1",
                                   by="Alice", division="retail")
    assert mention.headline == "Alice mentioned Ivan Petrov in a note on application app_1"
    assert mention.link == "https://hire.example/n/1" and ("Mentioned", "Ivan Petrov") in mention.facts
    zh = chat.mention_message("伊万", "申请 app_1 的备注", "https://hire.example/n/1", locale="zh-CN")
    assert zh.headline == "伊万 在申请 app_1 的备注中被提及" and zh.link_label == "在 hireloop 中打开"


# ---------------------------------------------------------------------------------------------------- hosts

@pytest.mark.parametrize(("channel", "url"), [
    (chat.SLACK, SLACK_URL),
    (chat.TEAMS, TEAMS_URL),
    (chat.TEAMS, "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456"),
    (chat.TEAMS, "https://default0a1b.02.environment.api.powerplatform.com:443/powerautomate/automations/direct/"
                 "workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=x"),
    (chat.TEAMS, "https://prod-01.uk.powerautomate.com/workflows/abc"),
    (chat.SLACK, "http://127.0.0.1:8080/slack"),  # allow-listed by the operator
])
def test_known_chat_hosts_and_allow_listed_ones_pass(channel, url):
    assert chat.checker(channel)(url, LOCAL).port > 0


@pytest.mark.parametrize(("channel", "url", "reason"), [
    (chat.SLACK, "https://example.com/services/T/B/X", "not a Slack webhook host"),
    (chat.SLACK, "https://hooks.slack.com.evil.example/services/T/B/X", "not a Slack webhook host"),
    (chat.SLACK, "http://hooks.slack.com/services/T/B/X", "must be an https URL"),
    (chat.SLACK, TEAMS_URL, "not a Slack webhook host"),
    (chat.TEAMS, SLACK_URL, "not a Teams webhook host"),
    (chat.TEAMS, "https://evil-logic.azure.com/workflows/x", "not a Teams webhook host"),
    (chat.TEAMS, "https://10.0.0.5/workflows/x", "private"),
    (chat.SLACK, "http://127.0.0.1:8080/slack", "https"),  # not allow-listed here
])
def test_other_hosts_are_refused(channel, url, reason):
    allow = AllowList() if "127.0.0.1" in url else LOCAL
    with pytest.raises(DestinationRefused, match=reason):
        chat.checker(channel)(url, allow)


# ---------------------------------------------------------------------------------------------------- a listener

@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Listener:
    """A real HTTP server on a free port: records each POST, answers scripted statuses per path (then 200)."""

    def __init__(self):
        self.posts: list[Post] = []
        self.scripts: dict[str, list[int]] = {}
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.posts.append(Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                script = listener.scripts.get(self.path) or []
                self.send_response(script.pop(0) if script else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[Post]:
        return [p for p in self.posts if p.path == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    with Listener() as server:
        yield server


# ---------------------------------------------------------------------------------------------------- the shell

class RecordingMailer:
    def __init__(self):
        self.sent: list[dict] = []

    def send(self, notice, attachments=()):
        self.sent.append(notice)
        return f"<{notice['_id']}@test>"


@pytest.fixture
def store(make_store):
    return make_store(NotificationStore)


@pytest.fixture
def shell(store):
    mailer = RecordingMailer()

    def make(caller=HR):
        # retries at once (back-off base 0), so a test sees the second attempt without waiting
        return worker_factory(NotificationService, store=store, bus=InProcessBus(store, caller), mailer=mailer,
                              webhooks=WebhookSender(allow=LOCAL), chats=ChatSender(allow=LOCAL),
                              retries=Retries(backoff_base=0, max_attempts=5), reply_to_fallback=None,
                              settings=Settings(public_url="https://hire.example"))
    return make


def deliver(svc, event_type, payload, producer="sourcing"):
    env = EventEnvelope(type=event_type, producer=producer, payload=payload)
    handler = {"application_received": svc.on_application_received,
               "application_status_changed": svc.on_status_changed}[event_type]
    handler(EVENT_MODELS[(producer, event_type)].model_validate(env.payload), env)


def offered(shell, app_id="app_1"):
    deliver(shell(), "application_received", {
        "application_id": app_id, "candidate_id": "cand_1", "source": "referral", "received_at": iso(utcnow()),
        "requisition": {"id": "req_1", "title": "Barista", "division": "retail", "department": "stores",
                        "tier": "basic", "urgent": False, "required_skills": ["Coffee"]},
        "candidate": {"name": "Li Wei", "email": "li.wei@example.com", "skills": ["Coffee"]}})
    deliver(shell(), "application_status_changed", {
        "application_id": app_id, "candidate_id": "cand_1", "requisition_id": "req_1", "sequence": 2,
        "requisition_title": "Barista", "division": "retail", "tier": "basic", "urgent": False,
        "source": "referral", "previous_status": "interviewed", "status": "offered", "at": iso(utcnow())})


def test_the_policy_keeps_chat_urls_write_only_sealed_checked_and_removable(shell, store):
    read = shell().put_policy(division="retail", slack_webhook_url=SLACK_URL, teams_webhook_url=TEAMS_URL)
    assert (read["slack_webhook_url"], read["slack_webhook_set"]) == (None, True)
    assert (read["teams_webhook_url"], read["teams_webhook_set"]) == (None, True)
    raw = json.dumps(store.db.policies.find_one({"_id": "retail"}), default=str)
    assert "hooks.slack.com" not in raw and "sig=s3cr3t" not in raw  # sealed at rest
    # a GET's body sent back (URLs null, flags true) keeps them
    again = shell().put_policy(**{**shell().get_policy(division="retail"), "guide_after": 60})
    assert again["slack_webhook_set"] and again["teams_webhook_set"] and again["guide_after"] == 60
    stored = NotificationPolicy.model_validate({k: v for k, v in store.get_policy("retail").items()
                                                if k in NotificationPolicy.model_fields})
    assert str(stored.slack_webhook_url) == SLACK_URL and "sig=s3cr3t" in str(stored.teams_webhook_url)
    # a URL not on its chat's hosts is refused naming the field, and nothing changes
    with pytest.raises(Invalid) as err:
        shell().put_policy(division="retail", slack_webhook_url="https://example.com/hook", guide_after=1)
    assert err.value.field == "slack_webhook_url"
    with pytest.raises(Invalid) as err:
        shell().put_policy(division="retail", teams_webhook_url=SLACK_URL)
    assert err.value.field == "teams_webhook_url"
    assert shell().get_policy(division="retail")["guide_after"] == 60
    # `false` removes one
    removed = shell().put_policy(division="retail", slack_webhook_set=False)
    assert (removed["slack_webhook_set"], removed["teams_webhook_set"]) == (False, True)


def test_an_hr_reminder_reaches_a_local_listener_as_one_slack_and_one_teams_message(shell, store, listener):
    listener.scripts["/teams"] = [500]  # the first Teams attempt fails: retried with back-off
    shell(ADMIN).put_policy(division="retail", hr_confirm_after=0, hr_email="hr@retail.example",
                            slack_webhook_url=listener.url("/slack"), teams_webhook_url=listener.url("/teams"))
    offered(shell)
    teams = store.db.notices.find_one({"application_id": "app_1", "channel": "teams"})
    assert (teams["status"], teams["attempts"], teams["error"]) == ("scheduled", 1, "Teams answered HTTP 500")
    shell().dispatch_due()  # the Teams retry, due at once (back-off base 0)
    [slack] = listener.at("/slack")
    assert slack.headers["content-type"] == "application/json"
    body = slack.json
    assert body["text"] == "[Action] Confirm the offer to Li Wei (Barista) by phone"
    assert [b["type"] for b in body["blocks"]] == ["section", "context", "actions"]
    assert body["blocks"][2]["elements"][0]["url"] == "https://hire.example/console/applications/app_1"
    first, second = listener.at("/teams")
    assert first.body == second.body  # the same message again
    [attachment] = second.json["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["body"][0]["text"] == "[Action] Confirm the offer to Li Wei (Barista) by phone"
    # nothing more about the candidate than HR's email carries, and less: no address
    assert b"li.wei@example.com" not in slack.body + second.body
    notices = {n["channel"]: n for n in store.db.notices.find({"application_id": "app_1",
                                                               "kind": "hr_confirm_reminder"})}
    assert set(notices) == {"email", "slack", "teams"}
    assert notices["slack"]["status"] == "sent" and notices["teams"]["status"] == "sent"
    assert notices["teams"]["attempts"] == 2 and notices["slack"]["attempts"] == 1  # Teams sent at the 2nd
    assert "hire.example" not in json.dumps(notices["slack"], default=str)  # the message is sealed too
    views = {n["channel"]: n for n in shell().list_for_application(application_id="app_1")["items"]}
    assert views["slack"]["recipient"] == "slack:retail" and "Li Wei" in views["teams"]["body"]


def test_a_confirmation_cancels_the_chat_copies_with_the_reminder(shell, store, listener):
    shell(ADMIN).put_policy(division="retail", hr_confirm_after=3600, slack_webhook_url=listener.url("/slack"))
    offered(shell, "app_2")
    env = EventEnvelope(type="offer_confirmation_recorded", producer="sourcing", payload={
        "application_id": "app_2", "division": "retail", "result": "confirmed", "at": iso(utcnow()),
        "by": "alice"})
    shell().on_offer_confirmation(EVENT_MODELS[("sourcing", "offer_confirmation_recorded")].model_validate(
        env.payload), env)
    waiting = {(n["channel"], n["status"]) for n in store.db.notices.find({"application_id": "app_2",
                                                                           "kind": "hr_confirm_reminder"})}
    assert waiting == {("email", "cancelled"), ("slack", "cancelled")}
    shell().dispatch_due()
    assert listener.posts == []


def test_a_mention_is_posted_once_and_a_removed_url_fails_it_without_a_post(shell, store, listener):
    shell(ADMIN).put_policy(division="retail", slack_webhook_url=listener.url("/slack"),
                            teams_webhook_url=listener.url("/teams"))
    svc = shell()

    def mention(uow):
        return svc.notify_mention(uow, division="retail", key="note_1:usr_ivan", who="Ivan Petrov",
                                  where="a note on application app_1", link="https://hire.example/n/1", by="Alice")
    due = svc.bus.transact(mention)
    assert svc.bus.transact(mention) == []  # the same mention again: nothing more
    svc._dispatch_soon(due)
    assert len(due) == 2
    [slack], [teams] = listener.at("/slack"), listener.at("/teams")
    assert slack.json["text"] == "Alice mentioned Ivan Petrov in a note on application app_1"
    assert teams.json["attachments"][0]["content"]["actions"][0]["url"] == "https://hire.example/n/1"
    # a division with no chat posts nothing
    assert svc.bus.transact(lambda uow: svc.notify_mention(uow, division="logistics", key="n2", who="x",
                                                           where="y", link="https://hire.example/n/2")) == []
    # the URL removed while a mention waits: it fails at once, nothing posted
    later = svc.bus.transact(lambda uow: svc.notify_mention(uow, division="retail", key="note_3:usr_ivan",
                                                            who="Ivan Petrov", where="a note", link="https://h/n/3"))
    shell().put_policy(division="retail", slack_webhook_set=False, teams_webhook_set=False)
    svc._dispatch_soon(later)
    assert len(listener.posts) == 2
    assert {n["status"] for n in store.db.notices.find({"_id": {"$in": later}})} == {"failed"}


def test_a_missing_scorecard_is_posted_naming_the_panel_member_with_the_interview_link(shell, store, listener):
    from services.notification.tests.test_interviews import event, received, scheduled

    shell(ADMIN).put_policy(division="retail", scorecard_reminder_after=0, slack_webhook_url=listener.url("/slack"))
    received(shell, "app_5")
    ended = (utcnow() - timedelta(hours=2)).replace(microsecond=0)  # held and over: the reminder is due now
    event(shell(), "interview_scheduled", scheduled(ended, app_id="app_5", interview_id="int_5",
                                                    panel=(("ann", "ann@x.test"),)))
    shell().dispatch_due()
    [post] = listener.at("/slack")
    assert post.json["text"] == "Scorecard missing: ann, interview with Li Wei (Barista)"
    assert post.json["blocks"][2]["elements"][0]["url"] == "https://hire.example/console/interviews/int_5"
    assert b"ann@x.test" not in post.body and b"li@example.com" not in post.body
