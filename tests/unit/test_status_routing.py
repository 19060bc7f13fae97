"""Status changes are routed by transition (issue 17): sourcing publishes `application_status_changed` with the key
`application_status_changed.<previous or none>.<status>`, and each consumer's inbox is bound to exactly the
changes its row in SUBSCRIPTIONS needs. The rules are restated here from the consumers' needs (not read back
from topology), every (previous, status) pair is matched against each inbox's binding patterns with a topic
matcher, and the matcher itself is checked against RabbitMQ's semantics here and on a real broker in
tests/integration/test_rabbitmq_definitions.py."""

from __future__ import annotations

import re

import pytest

from shared import event_signing
from shared.bus import topology
from shared.bus.nameko_ext import Bus
from shared.contracts.common import AppStatus
from shared.contracts.envelope import EventEnvelope
from shared.contracts.status import DECIDE, OVERRIDE_SCREENING, SCHEDULE_INTERVIEW, TRANSITIONS, can_move, check

STATUSES = [s.value for s in AppStatus]
PAIRS = [(p, s) for p in ["none", *STATUSES] for s in STATUSES]
OVERRIDABLE = {"received", "shortlisted", "screened_out"}  # what a screening override allows
BEFORE_INTERVIEWS = {"none", "received", "shortlisted", "screened_out"}

# What each consumer of status changes must hear, in the consumers' terms.
NEEDED = {
    # its status copy answers schedule/decide: a received application must be 409 invalid_status, not 404
    "interview_feedback": lambda p, s: True,
    # its copy starts as `received` (application_received); an override only asks "still in OVERRIDABLE?"
    "screening": lambda p, s: (("received" if p == "none" else p) in OVERRIDABLE) != (s in OVERRIDABLE),
    # its contact (and the received status) comes with application_received
    "notification": lambda p, s: (p, s) != ("none", "received"),
    # pooling starts at interviewed; its report counts offers
    "talent_pool": lambda p, s: not (p in BEFORE_INTERVIEWS and s in BEFORE_INTERVIEWS),
}


def status_keys(service: str) -> list[str]:
    inbox = next(q for q in topology.queues((service,)) if q.name == topology.inbox_queue(service))
    return [b.routing_key for b in inbox.bindings
            if b.exchange == "sourcing.events" and b.routing_key.startswith(topology.STATUS_CHANGED)]


def key(previous: str, status: str) -> str:
    return topology.routing_key(topology.STATUS_CHANGED, {"previous_status": None if previous == "none" else previous,
                                                          "status": status})


def test_a_status_change_is_routed_by_its_transition_and_other_events_by_their_type():
    assert key("none", "received") == "application_status_changed.none.received"
    assert key("received", "shortlisted") == "application_status_changed.received.shortlisted"
    assert topology.routing_key("application_received", {"status": "received"}) == "application_received"
    assert topology.routing_key("application_screened", {}) == "application_screened"
    # a status is one word of the key: a dot in it would shift the words every pattern counts on
    assert all(re.fullmatch(r"[a-z_]+", s) for s in STATUSES)


@pytest.mark.parametrize(("pattern", "key", "matches"), [
    ("application_status_changed.#", "application_status_changed.none.received", True),
    ("application_status_changed.#", "application_status_changed", True),  # `#` is zero words too
    ("application_status_changed.*.shortlisted", "application_status_changed.received.shortlisted", True),
    ("application_status_changed.*.shortlisted", "application_status_changed.shortlisted", False),
    ("application_status_changed.received.*", "application_status_changed.received.screened_out", True),
    ("application_status_changed.received.*", "application_status_changed.received", False),
    ("application_status_changed.none.received", "application_status_changed.none.received", True),
    ("application_status_changed.none.received", "application_status_changed.none.received.x", False),
    ("application_status_changed", "application_status_changed.none.received", False),
    ("#", "anything.at.all", True),
    ("a.#.z", "a.z", True),
    ("a.#.z", "a.b.c.z", True),
    ("a.#.z", "a.b.c", False),
])
def test_topic_matcher_follows_rabbitmq(pattern, key, matches):
    assert topology.topic_matches(pattern, key) is matches


@pytest.mark.parametrize("service", sorted(NEEDED))
def test_each_consumer_hears_exactly_the_transitions_it_needs(service):
    keys = status_keys(service)
    assert keys, f"{service} is not bound to any status change"
    heard = {pair for pair in PAIRS if any(topology.topic_matches(k, key(*pair)) for k in keys)}
    needed = {pair for pair in PAIRS if NEEDED[service](*pair)}
    assert heard == needed, (sorted(heard - needed), sorted(needed - heard))
    # and the rule in SUBSCRIPTIONS says the same
    row = next(r for r in topology.SUBSCRIPTIONS[service] if r == ("sourcing", topology.STATUS_CHANGED))
    assert row.transitions.pairs() == needed


def test_the_bindings_are_compact_where_a_pattern_can_say_it():
    assert status_keys("interview_feedback") == ["application_status_changed.#"]
    # talent_pool: every change from a status at or after interviewing, every change into one
    talent_pool = status_keys("talent_pool")
    assert all(re.fullmatch(r"application_status_changed\.(\*\.[a-z_]+|[a-z_]+\.\*)", k) for k in talent_pool)
    assert len(talent_pool) == 20
    # notification: a `*.<status>` for every status but received, `<previous>.*` for every previous but none
    notification = status_keys("notification")
    assert "application_status_changed.none.received" not in notification
    assert all("*" in k for k in notification) and len(notification) == 25
    # screening: no pattern can leave out the changes inside the override set, so its keys are explicit
    screening = status_keys("screening")
    assert len(screening) == len(set(screening)) == sum(1 for pair in PAIRS if NEEDED["screening"](*pair))
    # nobody is bound to the bare type any more (no message carries it)
    for service in NEEDED:
        assert topology.STATUS_CHANGED not in status_keys(service)


@pytest.mark.parametrize(("service", "preconditions", "seed"), [
    ("screening", [OVERRIDE_SCREENING], "received"),  # seeded from application_received
    ("interview_feedback", [SCHEDULE_INTERVIEW, DECIDE], None),  # unknown until its first change (404, not 409)
])
def test_a_status_copy_hears_every_change_that_alters_what_its_commands_answer(service, preconditions, seed):
    """Whatever the rule says, a copy must not miss a change after which a command it checks would answer
    otherwise (allowed, wait, refused; or not found while the copy does not know the application)."""
    for previous, status in PAIRS:
        held = seed if previous == "none" else previous
        if held is None or any(check(pre, held) != check(pre, status) for pre in preconditions):
            assert service in topology.consumers_of("sourcing", key(previous, status)), (previous, status)


def test_the_moves_that_matter_reach_whom_they_should():
    def reached(previous, status):
        return set(topology.consumers_of("sourcing", key(previous, status)))

    assert reached("none", "received") == {"interview_feedback"}
    assert reached("received", "shortlisted") == reached("received", "screened_out") == {"interview_feedback",
                                                                                          "notification"}
    assert reached("shortlisted", "screened_out") == {"interview_feedback", "notification"}  # overrides
    assert reached("screened_out", "shortlisted") == {"interview_feedback", "notification"}
    everyone = {"interview_feedback", "notification", "screening", "talent_pool"}
    assert reached("shortlisted", "interviewing") == everyone  # leaves the override set
    assert reached("received", "interviewed") == everyone  # the fast track
    assert reached("received", "withdrawn") == reached("screened_out", "withdrawn") == everyone
    assert reached("interviewing", "interviewed") == {"interview_feedback", "notification", "talent_pool"}
    assert reached("accepted", "hired") == {"interview_feedback", "notification", "talent_pool"}
    # every move of the machine reaches interview_feedback and notification at least
    for previous, nexts in TRANSITIONS.items():
        for status in nexts | {"withdrawn"}:
            if can_move(previous, status, override=True):
                assert {"interview_feedback", "notification"} <= reached(previous, status), (previous, status)


def test_intake_path_takes_seven_deliveries_per_application():
    """POST /v1/applications until screened: application_received, the first status change, screening's
    verdict and the move it causes (either way)."""
    for verdict in ("shortlisted", "screened_out"):
        path = [("sourcing", "application_received"), ("sourcing", key("none", "received")),
                ("screening", "application_screened"), ("sourcing", key("received", verdict))]
        assert sum(len(topology.consumers_of(p, k)) for p, k in path) == 7
        # before: every subscriber of the type heard every change
        before = sum(sum(1 for rows in topology.SUBSCRIPTIONS.values() for r in rows
                         if r == (p, k.split(".")[0])) for p, k in path)
        assert before == 12


def test_subscription_rows_are_still_producer_event_pairs():
    row = topology.Subscription("sourcing", topology.STATUS_CHANGED, topology.EVERY_CHANGE)
    assert row == ("sourcing", topology.STATUS_CHANGED) and hash(row) == hash(("sourcing", topology.STATUS_CHANGED))
    producer, event_type = row
    assert (producer, event_type) == row
    with pytest.raises(ValueError, match="only application_status_changed"):
        topology.Subscription("sourcing", "application_received", topology.EVERY_CHANGE)
    # a status change row without a rule hears every change; other rows their type
    assert topology.binding_keys(("sourcing", topology.STATUS_CHANGED)) == ("application_status_changed.#",)
    assert topology.binding_keys(("sourcing", "application_received")) == ("application_received",)


def test_the_outbox_relay_publishes_a_status_change_with_its_transition_key_and_the_envelope_unchanged():
    class Publisher:
        def __init__(self):
            self.sent = []

        def publish(self, body, **kwargs):
            self.sent.append((body, kwargs))

    class Store:
        owner = "sourcing"

    key_pair = event_signing.generate("sourcing-test")
    bus = Bus()
    bus.signing_key, bus.publisher = key_pair, Publisher()
    first = {"application_id": "app_1", "previous_status": None, "status": "received"}
    for event_type, payload, expected in [
        ("application_status_changed", first, "application_status_changed.none.received"),
        ("application_status_changed", {**first, "previous_status": "received", "status": "screened_out"},
         "application_status_changed.received.screened_out"),
        ("application_received", {"application_id": "app_1"}, "application_received"),
    ]:
        envelope = EventEnvelope(type=event_type, producer="sourcing", payload=payload).model_dump(mode="json")
        assert bus._publish(Store(), {"_id": envelope["event_id"], "type": event_type, "envelope": envelope,
                                      "headers": {}})
        body, kwargs = bus.publisher.sent[-1]
        assert kwargs["routing_key"] == expected
        assert body["type"] == event_type and body["payload"] == payload  # the consumer still checks the type
        assert body == event_signing.sign_envelope(envelope, key_pair)
