"""A division's chat (issue 20): HR reminders, escalations, overdue approvals and scorecards, and mentions, posted
to a Slack incoming webhook and/or a Microsoft Teams workflow webhook (the policy's `slack_webhook_url`,
`teams_webhook_url`).

- Which notices: HR's (`KINDS`: what the HR webhook or email gets, the scorecard reminders of the interviews
  issue) get one chat copy per configured channel, made with the notice (same kind, application, step, so what
  cancels the notice cancels its copies); a mention (`mention`) is posted by whoever calls `mention_message`.
- What a message says: a headline (the HR notice's subject, in the division's locale), a few facts (role,
  division, application or interview id, who), a link into the console. Never more about the candidate than
  HR's email carries, and less: no address, no question or note text, no body (the console has it).
- Formats: Slack Block Kit (`text` fallback, `blocks`: section with fields, context, actions with a link
  button; mrkdwn with `&`, `<`, `>` escaped, so nobody's name pings `<!channel>` or makes a link) and, for
  Teams, an Adaptive Card 1.4 in the workflow's `attachments` (`contentType
  application/vnd.microsoft.card.adaptive`). Both kept within the platforms' documented limits.
- Where: the destination rules of webhooks (services/notification/destinations.py: https, no internal address,
  checked again after resolving) plus the chat's own hosts: Slack's `hooks.slack.com`, Teams' workflow hosts
  (`*.logic.azure.com`, `*.powerautomate.com`, `*.environment.api.powerplatform.com`) and the older
  `*.webhook.office.com` connectors. Any other host only when the operator's allow-list names it.
- The URL is the credential: write-only in the policy API and sealed at rest (store.py), read from the policy
  when sending (a changed URL applies to retries). A notice's recipient says only `slack:<division>`.
- Sending (`webhook.ChatSender`: this module is pure): like the HR webhook (no proxy, no redirects, the answer's
  body not read); any 2xx is a delivery (Slack answers 200 `ok`, a Teams workflow 202), anything else is
  retried with back-off by the dispatcher.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.notification.destinations import AllowList, Destination, DestinationRefused, check_url
from shared.contracts.commands import NotificationPolicy
from shared.contracts.common import NoticeKind

SLACK, TEAMS = "slack", "teams"
CHANNELS = (SLACK, TEAMS)
NAMES = {SLACK: "Slack", TEAMS: "Teams"}
POLICY_FIELDS = {SLACK: "slack_webhook_url", TEAMS: "teams_webhook_url"}

# Hosts each chat's webhooks live on: exact names, and suffixes (a sub-domain of them).
HOSTS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    SLACK: (frozenset({"hooks.slack.com"}), ()),
    TEAMS: (frozenset(), (".webhook.office.com", ".logic.azure.com", ".powerautomate.com",
                          ".environment.api.powerplatform.com")),
}

# HR notices posted to the chat too (the mention is posted on its own).
KINDS = frozenset({NoticeKind.hr_confirm_reminder.value, NoticeKind.confirm_escalation.value,
                   NoticeKind.approval_overdue.value, NoticeKind.offer_expiry_warning.value,
                   NoticeKind.offer_question.value, NoticeKind.scorecard_reminder.value})
MENTION = NoticeKind.mention.value

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"

# Slack's documented limits (Block Kit reference): a section's text 3000, a field 2000 and at most 10 fields,
# a button's text 75, its url 3000, a message's `text` 40000 (kept far shorter here).
SLACK_SECTION, SLACK_FIELD, SLACK_FIELDS, SLACK_BUTTON, SLACK_URL = 3000, 2000, 10, 75, 3000

LABELS = {
    "en": {"role": "Role", "division": "Division", "application": "Application", "interview": "Interview",
           "waiting_for": "Waiting for", "mentioned": "Mentioned", "where": "Where", "by": "By",
           "open": "Open in hireloop", "scorecard": "Scorecard missing: {member}, interview with {name} ({title})",
           "mention": "{who} was mentioned in {where}", "mention_by": "{by} mentioned {who} in {where}"},
    "zh-CN": {"role": "职位", "division": "事业部", "application": "申请", "interview": "面试",
              "waiting_for": "待提交", "mentioned": "被提及", "where": "位置", "by": "提及人",
              "open": "在 hireloop 中打开", "scorecard": "评分表未提交：{member}，{name} 的面试（{title}）",
              "mention": "{who} 在{where}中被提及", "mention_by": "{by} 在{where}中提及了 {who}"},
}


def labels(locale: str) -> dict[str, str]:
    return LABELS.get(locale, LABELS["en"])


# ----------------------------------------------------------------------------------------------------
# Where


def known_host(channel: str, host: str) -> bool:
    exact, suffixes = HOSTS[channel]
    return host in exact or any(host.endswith(s) for s in suffixes)


def checker(channel: str) -> Callable[[str, AllowList], Destination]:
    """The check of a `channel` URL as written: the webhook rules, and a host of that chat (or allow-listed)."""
    def check(url: str, allow: AllowList) -> Destination:
        destination = check_url(url, allow)
        if not destination.allowed and not (destination.hostname and known_host(channel, destination.hostname)):
            exact, suffixes = HOSTS[channel]
            hosts = ", ".join([*sorted(exact), *(f"*{s}" for s in suffixes)])
            raise DestinationRefused(f"not a {NAMES[channel]} webhook host ({hosts}); another host only when the "
                                     "operator's allow-list names it")
        return destination
    return check


def configured(policy: NotificationPolicy) -> list[str]:
    """The division's chat channels, in a fixed order."""
    return [c for c in CHANNELS if getattr(policy, POLICY_FIELDS[c]) is not None]


# ----------------------------------------------------------------------------------------------------
# What


@dataclass(frozen=True)
class Message:
    """One chat message, whatever the chat: stored on the notice (`chat`) and formatted when sent."""

    headline: str
    facts: tuple[tuple[str, str], ...] = ()
    link: str | None = None
    link_label: str = "Open in hireloop"
    footer: str = "hireloop"

    def as_dict(self) -> dict[str, Any]:
        return {"headline": self.headline, "facts": [list(f) for f in self.facts], "link": self.link,
                "link_label": self.link_label, "footer": self.footer}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Message:
        return cls(headline=stored["headline"], facts=tuple((str(k), str(v)) for k, v in stored.get("facts") or ()),
                   link=stored.get("link"), link_label=stored.get("link_label") or "Open in hireloop",
                   footer=stored.get("footer") or "hireloop")

    def text(self) -> str:
        """Plain text (the notice's body as the API shows it)."""
        lines = [self.headline, *(f"{k}: {v}" for k, v in self.facts)]
        return "\n".join(lines + ([self.link] if self.link else [])) + "\n"


def hr_message(kind: str, subject: str, *, locale: str, division: str, title: str, application_id: str | None,
               link: str | None, name: str = "", member: str | None = None,
               interview_id: str | None = None) -> Message:
    """The chat copy of an HR notice: its subject as the headline (a scorecard reminder, written to the panel
    member in the second person, says whose scorecard instead), and facts that are no personal data."""
    words = labels(locale)
    headline = subject
    facts: list[tuple[str, str]] = []
    if kind == NoticeKind.scorecard_reminder.value and member:
        headline = words["scorecard"].format(member=member, name=name, title=title)
        facts.append((words["waiting_for"], member))
    if title:
        facts.append((words["role"], title))
    facts.append((words["division"], division))
    if interview_id:
        facts.append((words["interview"], interview_id))
    if application_id:
        facts.append((words["application"], application_id))
    return Message(headline=headline, facts=tuple(facts), link=link, link_label=words["open"],
                   footer=f"hireloop · {division} · {kind}")


def mention_message(who: str, where: str, link: str, *, by: str | None = None, division: str = "",
                    locale: str = "en") -> Message:
    """A mention (issue 20's notes): `who` was mentioned (by `by`) in `where` (e.g. "a note on Li Wei's
    application"), `link` leads there. The caller decides who may be named; nothing else is added."""
    words = labels(locale)
    headline = (words["mention_by"] if by else words["mention"]).format(who=who, where=where, by=by)
    facts = [(words["mentioned"], who), (words["where"], where)] + ([(words["by"], by)] if by else [])
    return Message(headline=headline, facts=tuple(facts), link=link, link_label=words["open"],
                   footer=" · ".join(p for p in ("hireloop", division, MENTION) if p))


# ----------------------------------------------------------------------------------------------------
# Formats


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters (its formatting guide): `&`, `<`, `>`; nothing else needs it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict[str, Any]:
    """Block Kit: `text` (notifications, and clients without blocks) and `blocks`: a section (the headline in
    bold, the facts as fields), a context line, and an actions block with the link button."""
    headline = slack_escape(message.headline)
    section: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*{headline}*",
                                                                                         SLACK_SECTION)}}
    if message.facts:
        section["fields"] = [{"type": "mrkdwn", "text": _cut(f"*{slack_escape(k)}*\n{slack_escape(v)}", SLACK_FIELD)}
                             for k, v in message.facts[:SLACK_FIELDS]]
    blocks: list[dict[str, Any]] = [
        section, {"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(message.footer)}]}]
    if message.link:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "action_id": "open", "url": _cut(message.link, SLACK_URL),
            "text": {"type": "plain_text", "text": _cut(message.link_label, SLACK_BUTTON), "emoji": False}}]})
    return {"text": _cut(headline, SLACK_SECTION), "blocks": blocks}


def adaptive_card(message: Message) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.headline, "weight": "Bolder", "size": "Medium", "wrap": True}]
    if message.facts:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in message.facts]})
    body.append({"type": "TextBlock", "text": message.footer, "isSubtle": True, "size": "Small", "wrap": True})
    card: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": message.link_label, "url": message.link}]
    return card


def teams_payload(message: Message) -> dict[str, Any]:
    """What a Teams workflow ("when a Teams webhook request is received", then "post card in a chat or
    channel") reads: a message whose `attachments` hold one Adaptive Card."""
    return {"type": "message", "attachments": [{"contentType": CARD_TYPE, "contentUrl": None,
                                                "content": adaptive_card(message)}]}


def payload(channel: str, message: Message) -> dict[str, Any]:
    return slack_payload(message) if channel == SLACK else teams_payload(message)


def encode(channel: str, message: Message) -> bytes:
    return json.dumps(payload(channel, message), ensure_ascii=False, separators=(",", ":")).encode()


# ----------------------------------------------------------------------------------------------------
# Notices and sending


def copies(notice: dict, message: Message, policy: NotificationPolicy, ids: list[str]) -> list[dict]:
    """One chat notice per configured channel for `notice` (an HR notice just built): the same kind,
    application, step and due time, its own id and key, the message instead of the email's words."""
    out = []
    for channel, notice_id in zip(configured(policy), ids, strict=False):
        copy = {k: v for k, v in notice.items() if k not in ("attachments", "invite", "offer_letter", "trace")}
        copy.update(_id=notice_id, dedupe_key=f"{notice['dedupe_key']}:{channel}", channel=channel,
                    recipient=f"{channel}:{notice.get('division') or ''}", reply_to=None,
                    subject=message.headline, body=message.text(), chat=message.as_dict())
        out.append(copy)
    return out
