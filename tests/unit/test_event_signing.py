"""Event signatures (shared/event_signing.py): pure, no broker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared import event_signing as es
from shared.config import Settings
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.storage import INBOX_RETENTION_SECONDS
from shared.timeutil import utcnow

SOURCING = es.generate("sourcing-1")
SOURCING_NEXT = es.generate("sourcing-2")
FEEDBACK = es.generate("feedback-1")
KEYS = es.parse_public_keys(",".join([es.public_key_text("sourcing", SOURCING),
                                      es.public_key_text("sourcing", SOURCING_NEXT),
                                      es.public_key_text("interview_feedback", FEEDBACK)]))


def envelope(producer="interview_feedback", event_type="decision_recorded", **fields) -> dict:
    payload = fields.pop("payload", {"application_id": "app_1", "outcome": "fail", "note": "ünïcode ✓",
                                     "score": 3.5, "n": 2})
    return EventEnvelope(type=event_type, producer=producer, payload=payload, correlation_id="req_1",
                         **fields).model_dump(mode="json")


def verify(body, now=None, max_age=es.DEFAULT_MAX_AGE_SECONDS):
    return es.verify_envelope(body, KEYS, EVENT_MODELS, now or utcnow(), max_age)


def refused(body, **kw) -> str:
    with pytest.raises(es.EventRefused) as info:
        verify(body, **kw)
    return info.value.reason


def test_a_signed_envelope_verifies_after_a_json_round_trip():
    import json

    body = es.sign_envelope(envelope(), FEEDBACK)
    assert verify(json.loads(json.dumps(body))) == "feedback-1"
    assert EventEnvelope.model_validate(body).signature == body["signature"]


def test_two_keys_of_one_producer_are_valid_at_once():
    assert verify(es.sign_envelope(envelope("sourcing", "candidate_erasure_requested"), SOURCING)) == "sourcing-1"
    assert verify(es.sign_envelope(envelope("sourcing", "candidate_erasure_requested"), SOURCING_NEXT)) == "sourcing-2"


def test_an_unsigned_or_malformed_signature_is_refused():
    assert refused(envelope()) == "unsigned_event"
    body = es.sign_envelope(envelope(), FEEDBACK)
    assert refused({**body, "signature": "feedback-1:abc"}) == "malformed_signature"
    assert refused({**body, "signature": {"kid": "feedback-1", "value": "not base64!"}}) == "malformed_signature"


@pytest.mark.parametrize("change", [
    {"payload": {"application_id": "app_2", "outcome": "fail", "note": "ünïcode ✓", "score": 3.5, "n": 2}},
    {"event_id": "evt_other"},  # a replay with a new id, so the inbox would not recognise it
    {"occurred_at": "2031-01-01T00:00:00Z"},
    {"type": "interview_completed"},
    {"correlation_id": "req_2"},
    {"causation_id": "evt_x"},
    {"version": 2},
])
def test_any_change_to_a_signed_field_breaks_the_signature(change):
    body = es.sign_envelope(envelope(), FEEDBACK)
    assert refused({**body, **change}) == "bad_signature"


def test_a_signature_by_another_key_is_refused():
    body = envelope()
    # another producer's key: the key id says whose it is
    assert refused(es.sign_envelope(body, SOURCING)) == "wrong_producer_key"
    # a key nobody configured
    assert refused(es.sign_envelope(body, es.generate("attacker"))) == "unknown_key"
    # a fresh key under the genuine key id
    assert refused(es.sign_envelope(body, es.SigningKey("feedback-1", es.generate("x").private))) == "bad_signature"


def test_a_producer_may_only_publish_its_own_event_types():
    # signed by sourcing's genuine key, but sourcing does not decide applications
    body = es.sign_envelope(envelope("sourcing", "decision_recorded"), SOURCING)
    assert refused(body) == "not_producer_of_type"


def test_a_stale_or_future_event_is_refused():
    old = es.sign_envelope(envelope(occurred_at=utcnow() - timedelta(seconds=3601)), FEEDBACK)
    assert refused(old, max_age=3600) == "stale_event"
    assert verify(old, max_age=3700)
    future = es.sign_envelope(envelope(occurred_at=utcnow() + timedelta(seconds=3600)), FEEDBACK)
    assert refused(future) == "stale_event"


def test_the_maximum_age_stays_below_the_inbox_memory():
    assert es.DEFAULT_MAX_AGE_SECONDS <= es.MAX_AGE_LIMIT_SECONDS < INBOX_RETENTION_SECONDS
    with pytest.raises(ValueError, match=es.MAX_AGE_VAR):
        es.parse_max_age(str(INBOX_RETENTION_SECONDS))


def test_settings_refuse_malformed_keys_naming_the_variable(monkeypatch):
    seed = es.signing_key_text(FEEDBACK).split(":", 1)[1]
    for value in ("no-colon", "kid:not-base64!", "kid:" + seed[:-8], "bad kid!:" + seed):
        monkeypatch.setenv(es.SIGNING_KEY_VAR, value)
        with pytest.raises(ValueError, match=es.SIGNING_KEY_VAR) as info:
            Settings.from_env()
        assert seed not in str(info.value)  # a secret is never echoed
    monkeypatch.delenv(es.SIGNING_KEY_VAR)
    good = es.public_key_text("sourcing", SOURCING)
    for value in (good + ",sourcing:k2", good + ",Sourcing:k2:" + good.split(":")[2], good + "," + good,
                  "sourcing:k:AAAA"):
        monkeypatch.setenv(es.PUBLIC_KEYS_VAR, value)
        with pytest.raises(ValueError, match=es.PUBLIC_KEYS_VAR):
            Settings.from_env()
    monkeypatch.setenv(es.PUBLIC_KEYS_VAR, good)
    monkeypatch.setenv(es.MAX_AGE_VAR, "soon")
    with pytest.raises(ValueError, match=es.MAX_AGE_VAR):
        Settings.from_env()


def test_settings_read_the_keys(monkeypatch):
    monkeypatch.setenv(es.SIGNING_KEY_VAR, es.signing_key_text(FEEDBACK))
    monkeypatch.setenv(es.PUBLIC_KEYS_VAR, f"{es.public_key_text('sourcing', SOURCING)}\n"
                                          f"{es.public_key_text('interview_feedback', FEEDBACK)}")
    monkeypatch.setenv(es.MAX_AGE_VAR, "86400")
    settings = Settings.from_env()
    assert settings.event_signing_key.kid == "feedback-1"
    assert sorted(settings.event_public_keys) == ["feedback-1", "sourcing-1"]
    assert settings.event_public_keys["feedback-1"].producer == "interview_feedback"
    assert settings.event_max_age_seconds == 86400
    assert "private" not in repr(settings)


def test_the_console_live_board_passes_on_only_genuine_events(monkeypatch):
    """gateway/console/live.py hears sourcing.events itself: a forged status change never reaches a board."""
    import asyncio
    import json
    from types import SimpleNamespace

    from gateway.console.live import BoardFeed

    monkeypatch.setenv(es.PUBLIC_KEYS_VAR, es.public_key_text("sourcing", SOURCING))
    payload = {"application_id": "app_1", "requisition_id": "req_1", "status": "rejected",
               "previous_status": "shortlisted"}
    body = envelope("sourcing", "application_status_changed", payload=payload)

    async def heard(*bodies) -> list:
        feed = BoardFeed(rpc=None, settings=Settings.from_env())
        queue: asyncio.Queue = asyncio.Queue()
        feed._watchers["req_1"].add(queue)
        for b in bodies:
            await feed._on_event(SimpleNamespace(body=json.dumps(b).encode()))
        return [queue.get_nowait() for _ in range(queue.qsize())]

    forged = [body, es.sign_envelope(body, FEEDBACK), es.sign_envelope(body, es.generate("sourcing-1")),
              {**es.sign_envelope(body, SOURCING), "payload": {**payload, "status": "offered"}}]
    assert asyncio.run(heard(*forged)) == []
    assert asyncio.run(heard(es.sign_envelope(body, SOURCING))) == [
        {"application_id": "app_1", "status": "rejected", "previous_status": "shortlisted"}]
