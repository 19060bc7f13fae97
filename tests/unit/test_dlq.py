"""Where a dead letter is replayed to, and how it is named, from its headers alone."""

from types import SimpleNamespace

from shared.bus.dlq import _replay_queue, _to_dead_letter


def message(body=b"{}", headers=None, **props):
    return SimpleNamespace(body=body, headers=headers or {}, properties=props)


def test_an_event_dead_lettered_by_a_service_goes_back_to_its_inbox():
    headers = {"x-hireloop-reason": "handler_failed", "x-hireloop-original-exchange": "sourcing.events",
               # it had been parked in the wait queue before: that queue is not where it belongs
               "x-death": [{"queue": "screening.wait", "reason": "expired"}]}
    assert _replay_queue("screening", headers) == "screening.inbox"


def test_an_rpc_request_goes_back_to_the_rpc_queue():
    assert _replay_queue("sourcing", {"x-hireloop-original-exchange": "nameko-rpc"}) == "rpc-sourcing"


def test_a_message_the_broker_dead_lettered_goes_back_to_the_queue_it_left():
    assert _replay_queue("notification", {"x-death": [{"queue": "rpc-notification"}]}) == "rpc-notification"


def test_a_dead_letter_is_named_by_message_id_then_correlation_id_then_body_hash():
    assert _to_dead_letter("s", message(message_id="evt_1", correlation_id="c")).id == "evt_1"
    assert _to_dead_letter("s", message(correlation_id="c")).id == "c"
    one, two = _to_dead_letter("s", message(b"garbage")), _to_dead_letter("s", message(b"garbage"))
    assert one.id == two.id and len(one.id) == 16
    assert _to_dead_letter("s", message(b"other")).id != one.id


def test_reason_and_error_come_from_the_headers_and_the_body_is_kept_byte_for_byte():
    letter = _to_dead_letter("screening", message(b"\xff\xfe", {"x-hireloop-reason": "undecodable",
                                                               "x-hireloop-error": "boom"}))
    assert (letter.reason, letter.error, letter.body, letter.size) == ("undecodable", "boom", b"\xff\xfe", 2)
    assert "not UTF-8" in letter.body_text()
