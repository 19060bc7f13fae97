"""Stand-ins for the two services interview_feedback asks, for its process-level tests.

Run as `python -m services.interview_feedback.tests.fakes`: one process hosting `sourcing` (applications
from an in-memory table, scoped by the caller like the real one) and `notification` (a settable policy
that can also fail or hang, to exercise the fallback).
"""

from __future__ import annotations

if __name__ == "__main__":  # patch before nameko and kombu are imported
    import eventlet

    eventlet.monkey_patch()

from shared.bus.nameko_ext import Bus, rpc  # noqa: E402
from shared.errors import NotFound  # noqa: E402
from tests.support.applications import application as complete  # noqa: E402

APPLICATIONS: dict[str, dict] = {}
POLICIES: dict[str, dict] = {}


class FakeSourcing:
    name = "sourcing"
    bus = Bus()

    @rpc
    def put_application(self, application: dict) -> dict:
        APPLICATIONS[application["id"]] = application
        return application

    @rpc
    def get_application(self, application_id: str) -> dict:
        caller = self.bus.caller
        application = APPLICATIONS.get(application_id)
        if application is None or not caller.can_see(application["division"]):
            raise NotFound(f"no application {application_id}")
        return complete(**application)  # every field of sourcing's declared answer, as the real one gives


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
        return {"division": division, "approval_sla": policy.get("approval_sla", 86400)}


def main() -> None:
    import signal

    import eventlet
    from nameko import config
    from nameko.runners import ServiceRunner

    from shared.bus import topology
    from shared.bus.runner import nameko_config
    from shared.config import load

    settings = load()
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
