"""Email over SMTP with the standard library (green under eventlet once the process is monkey-patched).

`SMTP_URL` is `smtp://host:port` (plain), `smtp://host:port?starttls=1` (upgrade) or `smtps://host:port`
(TLS from the start); `user:password@` in it logs in. Every send has a timeout and raises on failure,
so the dispatcher can re-schedule the notice.

Attachments (an interview's `invite.ics`, an offer letter's PDF) are given to `send` as bytes, made when the
notice is sent; the stored notice lists only their names and types (`notice["attachments"]`, from
`Attachment.describe`, set by `domain.build_notice`). Bytes in the notice would ride along on every claim
and list read, and an invitation names people and addresses that erasure would have to find in one more
place; the record the file is made from (the interview, the offer) is erased with the candidate, so a file
made at sending time never brings erased data back. A message carries exactly the files its notice lists
(checked here), and a notice listing none is the single text part it always was.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import formatdate, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

NOTICE_HEADER = "X-Hireloop-Notice"
DEFAULT_TIMEOUT = 10.0


class SendError(Exception):
    """Sending failed (connection, refusal, timeout): worth retrying later."""


class RefusedDestination(SendError):
    """The destination may not be sent to (e.g. a webhook to an internal address): retrying will not help,
    the notice fails at once."""


@dataclass(frozen=True)
class Attachment:
    """One file sent with a notice. `content_type` is the whole header value, parameters included."""

    filename: str
    content_type: str
    data: bytes

    def describe(self) -> dict[str, str]:
        """What the stored notice keeps of it."""
        return {"filename": self.filename, "content_type": self.content_type}


def calendar_attachment(ics: bytes, method: str, filename: str = "invite.ics") -> Attachment:
    """An iCalendar invitation: the part's `method` must be the file's METHOD (REQUEST, CANCEL) for mail
    clients to offer to add, update or remove the event."""
    return Attachment(filename, f"text/calendar; method={method}; charset=utf-8", ics)


def pdf_attachment(data: bytes, filename: str) -> Attachment:
    return Attachment(filename, "application/pdf", data)


def _described(items) -> list[tuple[str, str]]:
    return [(item["filename"], item["content_type"]) for item in items]


class SmtpSender:
    def __init__(self, smtp_url: str, mail_from: str, timeout: float = DEFAULT_TIMEOUT):
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {smtp_url!r}")
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        query = parse_qs(parts.query)
        self.starttls = (query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"))
        self.mail_from = mail_from
        self.timeout = timeout

    @property
    def from_address(self) -> str:
        return parseaddr(self.mail_from)[1] or self.mail_from

    def message_id(self, notice_id: str) -> str:
        """Stable per notice: a re-send after a crash carries the same Message-ID (receivers can dedupe)."""
        domain = self.from_address.rpartition("@")[2] or "hireloop.local"
        return f"<{notice_id}@{domain}>"

    def build_message(self, notice: dict, attachments: Sequence[Attachment] = ()) -> EmailMessage:
        listed = _described(notice.get("attachments") or [])
        if _described(a.describe() for a in attachments) != listed:
            raise ValueError(f"notice {notice['_id']} lists attachments {listed}, "
                             f"given {[a.filename for a in attachments]}")
        msg = EmailMessage()
        msg["From"] = self.mail_from
        msg["To"] = notice["recipient"]
        msg["Subject"] = notice["subject"]
        if notice.get("reply_to"):  # candidates' emails: where their answer goes (From is a no-reply address)
            msg["Reply-To"] = notice["reply_to"]
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = self.message_id(notice["_id"])
        msg[NOTICE_HEADER] = notice["_id"]
        msg["X-Hireloop-Kind"] = notice["kind"]
        msg.set_content(notice["body"])
        for attachment in attachments:  # the text stays the first part of a multipart/mixed
            header = Message()
            header["Content-Type"] = attachment.content_type
            params = dict(header.get_params()[1:])
            # base64 whatever the type: an .ics keeps its CRLF line ends byte for byte
            msg.add_attachment(attachment.data, maintype=header.get_content_maintype(),
                               subtype=header.get_content_subtype(), filename=attachment.filename,
                               params=params)
        return msg

    def send(self, notice: dict, attachments: Sequence[Attachment] = ()) -> str:
        """Send one notice with the files it lists; returns its Message-ID. Raises SendError on any failure."""
        msg = self.build_message(notice, attachments)
        try:
            if self.ssl:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                refused = client.send_message(msg, from_addr=self.from_address, to_addrs=[notice["recipient"]])
            if refused:
                raise SendError(f"recipient refused: {refused}")
        except SendError:
            raise
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc
        return msg["Message-ID"]
