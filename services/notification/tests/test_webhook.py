"""HR notices over the signed webhook, with the notification service as a real process (RabbitMQ, MongoDB,
SMTP capture) and a real HTTP receiver that verifies every signature with the division's secret.

The service (conftest.py, shared with test_process.py) runs with NOTIFY_BACKOFF_BASE_SECONDS=1 and
NOTIFY_MAX_ATTEMPTS=3 (retries after 1 s, then 4 s; failed after the 3rd attempt), so retries and the final
failure take seconds. Where a test checks that nothing more arrives, a sentinel (a later notice of another
application, due after anything that could still come) is waited for instead of a sleep."""

from __future__ import annotations

import secrets

import pytest

from services.notification.tests.conftest import MAX_ATTEMPTS
from services.notification.tests.test_process import (
    ctx,
    received,
    status_changed,
    uid,
    unexpected_errors,
    wait_for,
)
from services.notification.tests.webhook_receiver import Receiver
from shared.crypto import is_sealed, open_sealed
from shared.errors import Invalid
from shared.storage import mongo_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def notices(platform):
    client = mongo_client(platform.mongo_url)
    yield client[platform.database].notices
    client.close()


def a_division():
    return f"hr{secrets.token_hex(4)}"


def hr_webhook(platform, receiver, division, path, statuses=None, **policy):
    secret = secrets.token_urlsafe(24)
    url = receiver.expect(path, secret, statuses)
    platform.call("put_policy", division=division, context=ctx("hr", (division,)),
                  **{"hr_confirm_after": 1, "hr_webhook_url": url, "hr_webhook_secret": secret, **policy})
    return url, secret


def offer(platform, division, urgent=False):
    app, cand, email = uid("app"), uid("cand"), f"{uid('li')}@example.com"
    platform.publish("sourcing", "application_received", received(app, cand, email, division, urgent=urgent))
    event = status_changed(app, cand, "offered", "interviewed", division, urgent=urgent)
    platform.publish("sourcing", "application_status_changed", event)
    return app, email, event


def sentinel_reminder(platform, receiver, division, path) -> str:
    """Offer another application in `division` and wait until its HR reminder reached the webhook: it was
    scheduled (1 s ahead) after everything the test waited for, and the dispatcher takes due notices in order
    of due time, so whatever else was still to come (a retry, a duplicate) came before it. Its application id."""
    app, _, _ = offer(platform, division)
    assert wait_for(lambda: [h for h in receiver.at(path) if h.json["application_id"] == app
                             and h.json["kind"] == "hr_confirm_reminder"], timeout=15), "no sentinel reminder"
    return app


@pytest.fixture(scope="module", autouse=True)
def retried(platform, receiver):
    """The two back-off scenarios, set off when the module starts so that their waits (1 s, then 4 s, by the
    service's clock) run alongside the other tests instead of one after the other: an offer in a division whose
    webhook fails twice and then answers (`/flaky`), and one whose webhook always fails (`/down`).
    {"flaky" | "down": (division, application id)}."""
    started = {}
    for name, statuses in (("flaky", [500, 500]), ("down", [503] * 50)):
        division = a_division()
        hr_webhook(platform, receiver, division, f"/{name}", statuses)
        started[name] = (division, offer(platform, division)[0])
    return started


def items(platform, app, division):
    return {i["kind"]: i for i in platform.call("list_for_application", application_id=app,
                                                context=ctx("hr", (division,)))["items"]}


def test_policy_keeps_the_secret_write_only(platform, receiver):
    division = a_division()
    hr = ctx("hr", (division,))
    url, secret = hr_webhook(platform, receiver, division, "/policy")
    view = platform.call("get_policy", division=division, context=hr)
    assert view["hr_webhook_url"] == url and view["hr_webhook_secret"] is None
    assert view["hr_webhook_secret_set"] is True and secret not in str(view)

    # A GET's body sent back (secret null, the read-only flag along) keeps the stored secret.
    again = platform.call("put_policy", **{**view, "guide_after": 7}, context=hr)  # its division is the path's
    assert again == {**view, "guide_after": 7}
    stored = platform.call("get_policy", division=division, context=hr)
    assert stored["hr_webhook_secret_set"] is True and stored["guide_after"] == 7

    # A URL with no secret, stored or given: refused, naming the secret; nothing changes.
    other = a_division()
    with pytest.raises(Invalid) as err:
        platform.call("put_policy", division=other, hr_webhook_url=url, context=ctx("hr", (other,)))
    assert err.value.field == "hr_webhook_secret"
    with pytest.raises(Invalid) as err:
        platform.call("put_policy", division=other, hr_webhook_url=url, hr_webhook_secret="short",
                      context=ctx("hr", (other,)))
    assert err.value.field == "hr_webhook_secret"
    assert platform.call("get_policy", division=other, context=ctx("hr", (other,)))["hr_webhook_url"] is None

    # Dropping the URL drops the webhook and its secret.
    cleared = platform.call("put_policy", division=division, context=hr)
    assert cleared["hr_webhook_url"] is None and cleared["hr_webhook_secret_set"] is False
    with pytest.raises(Invalid):
        platform.call("put_policy", division=division, hr_webhook_url=url, context=hr)


def test_hr_reminder_and_escalation_go_to_the_webhook_once_signed(platform, receiver):
    division = a_division()
    url, _ = hr_webhook(platform, receiver, division, "/ok", urgent_confirm_within=1)
    app, email, event = offer(platform, division, urgent=True)

    def delivered(kind):
        return [h for h in receiver.at("/ok") if h.json["kind"] == kind and h.json["application_id"] == app]

    assert wait_for(lambda: delivered("hr_confirm_reminder") and delivered("confirm_escalation"), timeout=15)
    platform.publish("sourcing", "application_status_changed", event)  # the same change announced again
    sentinel = sentinel_reminder(platform, receiver, division, "/ok")  # retries and duplicates came before it

    by_kind = items(platform, app, division)
    for kind in ("hr_confirm_reminder", "confirm_escalation"):
        [hit] = delivered(kind)
        notice = by_kind[kind]
        assert hit.signature_ok and hit.answered == 200
        assert hit.delivery == notice["id"] and hit.json["id"] == notice["id"]
        assert hit.json["application_id"] == app and hit.json["division"] == division
        assert hit.json["subject"] == notice["subject"] and hit.json["body"] == notice["body"]
        assert (notice["channel"], notice["recipient"], notice["status"]) == ("webhook", url, "sent")
        assert notice["sent_at"] and notice["error"] is None
    assert len([h for h in receiver.at("/ok") if h.json["application_id"] == app]) == 2
    assert len(receiver.at("/ok")) == 2 + 1  # and the sentinel's reminder (not urgent: no escalation)
    assert {h.json["application_id"] for h in receiver.at("/ok")} == {app, sentinel}
    # The candidate still gets email; HR got nothing by email.
    assert (by_kind["offer"]["channel"], by_kind["offer"]["recipient"]) == ("email", email)
    assert len(platform.mail(to=email, subject_contains="offer")) == 1
    assert platform.mail(to=f"hr-{division}@hireloop.local") == []
    assert platform.mail(to="group-hr@hireloop.local") == []


def test_a_failing_receiver_gets_retries_with_backoff_then_one_delivery(platform, receiver, notices, retried):
    division, app = retried["flaky"]
    assert wait_for(lambda: [h for h in receiver.at("/flaky") if h.answered == 200], timeout=20)
    sentinel = sentinel_reminder(platform, receiver, division, "/flaky")  # no attempt after the 200 came first
    hits = [h for h in receiver.at("/flaky") if h.json["application_id"] == app]
    assert [h.answered for h in receiver.at("/flaky")] == [500, 500, 200, 200]  # the sentinel's, once
    assert receiver.at("/flaky")[-1].json["application_id"] == sentinel
    assert [h.answered for h in hits] == [500, 500, 200]
    assert all(h.signature_ok for h in hits)
    assert {h.delivery for h in hits} == {hits[0].json["id"]}  # one notice, retried
    assert hits[1].at - hits[0].at >= 0.9 and hits[2].at - hits[1].at >= 3.5  # back-off: 1 s, then 4 s
    reminder = items(platform, app, division)["hr_confirm_reminder"]
    assert (reminder["id"], reminder["status"], reminder["channel"], reminder["error"]) == (
        hits[0].json["id"], "sent", "webhook", None)
    assert notices.find_one({"_id": reminder["id"]})["attempts"] == 3


def test_a_receiver_that_always_fails_leaves_the_notice_failed_with_the_status(platform, receiver, notices,
                                                                               retried):
    division, app = retried["down"]
    def reminder():
        return items(platform, app, division).get("hr_confirm_reminder") or {}

    assert wait_for(lambda: reminder().get("status") == "failed", timeout=25), reminder()
    # no attempt after the last: the sentinel's first attempt, due after it, came with none before it
    sentinel = sentinel_reminder(platform, receiver, division, "/down")
    assert receiver.at("/down")[-1].json["application_id"] == sentinel
    hits = [h for h in receiver.at("/down") if h.json["application_id"] == app]
    assert len(hits) == MAX_ATTEMPTS and all(h.signature_ok and h.answered == 503 for h in hits)
    final = reminder()
    assert final["error"] == "webhook answered HTTP 503" and final["sent_at"] is None
    assert final["channel"] == "webhook" and {h.delivery for h in hits} == {final["id"]}
    assert notices.find_one({"_id": final["id"]})["attempts"] == MAX_ATTEMPTS


def test_internal_urls_outside_the_allow_list_are_refused_naming_the_url(platform, receiver):
    division = a_division()
    hr = ctx("hr", (division,))
    allowed = receiver.expect("/allowed", "a-secret-of-16-chars+")
    for url in (allowed.replace("127.0.0.1", "127.0.0.2"), allowed.replace("127.0.0.1", "[::1]"),
                allowed.replace("127.0.0.1", "localhost"), "https://169.254.169.254/latest"):
        with pytest.raises(Invalid) as err:
            platform.call("put_policy", division=division, hr_webhook_url=url,
                          hr_webhook_secret="a-secret-of-16-chars+", context=hr)
        assert err.value.field == "hr_webhook_url", url
    assert platform.call("get_policy", division=division, context=hr)["hr_webhook_url"] is None


def test_a_secret_stored_in_clear_before_sealing_still_signs_and_is_sealed_when_written(platform, receiver, notices):
    division = a_division()
    secret = secrets.token_urlsafe(24)
    url = receiver.expect("/legacy", secret)
    policies = notices.database.policies
    # As an older version stored it: the secret in clear.
    policies.insert_one({"_id": division, "hr_confirm_after": 1, "hr_webhook_url": url, "hr_webhook_secret": secret})
    offer(platform, division)
    assert wait_for(lambda: receiver.at("/legacy"), timeout=15)
    [hit] = receiver.at("/legacy")
    assert hit.signature_ok and hit.answered == 200
    # A GET's body sent back (secret null) keeps the secret, now sealed; it still signs.
    hr = ctx("hr", (division,))
    view = platform.call("get_policy", division=division, context=hr)
    platform.call("put_policy", **view, context=hr)
    stored = policies.find_one({"_id": division})["hr_webhook_secret"]
    assert is_sealed(stored) and secret not in stored and open_sealed(stored) == secret
    offer(platform, division)
    assert wait_for(lambda: len(receiver.at("/legacy")) == 2, timeout=15)
    assert all(h.signature_ok for h in receiver.at("/legacy"))


def test_no_unexpected_errors_in_the_service_log(platform):
    """Failed sends are warnings; an event before its application is expected; anything else is a bug."""
    assert unexpected_errors(platform.log_path) == []
    # The last notice's event may be between its commit and its relay right now: the sweep relays within 1 s.
    assert wait_for(lambda: platform.call("health")["outbox_backlog"] == 0, timeout=10)
