"""Stand-ins for the two services interview_feedback hears from or asks, for its process-level tests.

Run as `python -m services.interview_feedback.tests.fakes`: one process hosting `sourcing` (an application put
here is announced as the real one does, with a signed `application_status_changed` whose sequence grows with
each put, so interview_feedback's own copy of the status follows) and `notification` (a settable policy that
can also fail or hang, to exercise the fallback).
"""

from __future__ import annotations

if __name__ == "__main__":  # patch before nameko and kombu are imported
    import eventlet

    eventlet.monkey_patch()

from shared.bus.nameko_ext import rpc  # noqa: E402
from shared.contracts.commands import NotificationPolicy  # noqa: E402
from shared.contracts.notification import Policy  # noqa: E402

APPLICATIONS: dict[str, dict] = {}
POLICIES: dict[str, dict] = {}


def announce(application: dict, previous: str | None, sequence: int) -> None:
    """Publish the application's status change on sourcing's exchange, signed with sourcing's key."""
    from kombu import Exchange
    from nameko import config
    from nameko.amqp.publish import Publisher

    from shared import event_signing
    from shared.bus import topology
    from shared.bus.configured import container_settings
    from shared.contracts.envelope import EventEnvelope
    from shared.contracts.events import ApplicationStatusChanged
    from shared.timeutil import utcnow

    change = ApplicationStatusChanged(
        sequence=sequence, application_id=application["id"], candidate_id=application["candidate_id"],
        requisition_id=application["requisition_id"], requisition_title=application.get("requisition_title", ""),
        division=application["division"], tier=application["tier"], source="referral",
        previous_status=previous, status=application["status"], at=utcnow())
    envelope = EventEnvelope(type="application_status_changed", producer="sourcing",
                             payload=change.model_dump(mode="json")).model_dump(mode="json")
    signed = event_signing.sign_envelope(envelope, container_settings().event_signing_key)
    Publisher(config.get("AMQP_URI"), use_confirms=True, serializer="json").publish(
        signed, exchange=Exchange(topology.events_exchange("sourcing"), type="topic", durable=True),
        routing_key=topology.routing_key("application_status_changed", envelope["payload"]),
        message_id=envelope["event_id"], retry=True)


class FakeSourcing:
    name = "sourcing"

    @rpc
    def put_application(self, application: dict) -> dict:
        """Store (or update) the application and announce its status; the sequence counts the puts."""
        before = APPLICATIONS.get(application["id"])
        stored = {**(before or {}), **application, "sequence": (before or {}).get("sequence", 0) + 1}
        APPLICATIONS[application["id"]] = stored
        announce(stored, before["status"] if before else None, stored["sequence"])
        return stored


class FakeNotification:
    name = "notification"

    @rpc
    def set_policy(self, division: str, policy: dict) -> dict:
        POLICIES[division] = policy
        return policy

    @rpc
    def get_policy(self, division: str) -> dict:
        import eventlet

        policy = POLICIES.get(division, {})
        if policy.get("mode") == "fail":
            raise RuntimeError("policy store is down")
        if policy.get("mode") == "hang":
            eventlet.sleep(30)
        # The whole answer of shared/contracts/notification.Policy: callers read it into that model.
        return Policy.of(division, NotificationPolicy(approval_sla=policy.get("approval_sla", 86400))).model_dump(
            mode="json")


def main() -> None:
    import signal

    import eventlet
    from nameko import config
    from nameko.runners import ServiceRunner

    from shared.bus import topology
    from shared.bus.runner import nameko_config
    from shared.config import Settings

    settings = Settings.from_env()
    config.setup(nameko_config(settings))
    topology.declare(settings.rabbit_url)
    runner = ServiceRunner()
    runner.add_service(FakeSourcing)
    runner.add_service(FakeNotification)
    runner.start()
    stop = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.ready() or stop.send(True))
    stop.wait()
    runner.kill()


if __name__ == "__main__":
    main()
