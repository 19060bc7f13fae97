"""notification.SendStaffEmail (issue 20): an account's invitation or reset link, rendered in the person's
locale and sent at once through the real SMTP sender to a local capture; only the system may ask for it."""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from infra.smtp_capture import SmtpCapture, find, read_body, read_message
from services.notification.sender import SmtpSender
from services.notification.service import NotificationService, Retries
from services.notification.webhook import WebhookSender
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.errors import Conflict, Forbidden, Invalid
from tests.support.shell import InProcessBus

LINK = "http://localhost:8000/console/invitations/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def capture(tmp_path):
    with SmtpCapture(tmp_path / "mail") as cap:
        yield cap


def shell(mailer, caller=None):
    return worker_factory(NotificationService, store=None, bus=InProcessBus(None, caller or Caller.system("gateway")),
                          mailer=mailer, webhooks=WebhookSender(), retries=Retries(backoff_base=5, max_attempts=5),
                          reply_to_fallback=None, settings=Settings())


@pytest.mark.parametrize(("locale", "template", "subject", "says"), [
    ("en", "staff_invitation", "You are invited to the hireloop console", "Set your password here"),
    ("zh-CN", "staff_invitation", "邀请您使用 hireloop 招聘控制台", "请通过以下链接设置密码"),
    ("en", "staff_password_reset", "Reset your hireloop password", "Choose a new password"),
    ("zh-CN", "staff_password_reset", "重置您的 hireloop 密码", "设置新密码"),
])
def test_the_link_is_sent_in_the_persons_locale(capture, locale, template, subject, says):
    svc = shell(SmtpSender(capture.url, "hireloop <no-reply@hireloop.local>", timeout=5))
    sent = svc.send_staff_email(to="mei@example.com", template=template, locale=locale, name="Mei Lin", link=LINK,
                                expires_at="2026-12-08T10:00:00Z")
    [entry] = find(capture.directory, to="mei@example.com")
    message = read_message(capture.directory, entry)
    assert message["Subject"] == subject and message["Message-ID"] == sent["message_id"]
    body = read_body(capture.directory, entry)
    assert says in body and LINK in body and "Mei Lin" in body and "2026-12-08T10:00:00Z" in body


def test_a_persons_key_may_not_send_it_and_bad_arguments_name_the_field(capture):
    sender = SmtpSender(capture.url, "hireloop <no-reply@hireloop.local>", timeout=5)
    with pytest.raises(Forbidden):
        shell(sender, Caller(key_id="k", name="a", role="admin")).send_staff_email(
            to="mei@example.com", template="staff_invitation", name="M", link=LINK, expires_at="x")
    with pytest.raises(Invalid) as bad:
        shell(sender).send_staff_email(to="mei@example.com", template="staff_invitation", name="M",
                                       link="javascript:alert(1)", expires_at="x")
    assert bad.value.field == "link"
    assert find(capture.directory) == []


def test_a_send_that_fails_is_a_conflict_the_gateway_reports():
    svc = shell(SmtpSender("smtp://127.0.0.1:1", "hireloop <no-reply@hireloop.local>", timeout=2))
    with pytest.raises(Conflict) as failed:
        svc.send_staff_email(to="mei@example.com", template="staff_invitation", name="M", link=LINK, expires_at="x")
    assert failed.value.code == "email_not_sent"
