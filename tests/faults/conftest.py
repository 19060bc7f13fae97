"""Fixtures of the fault-injection suite (`make test-faults`, run by .ci/run after `make test`, which leaves it out).

The suite's platform has its own vhost, database names and Redis prefix, apart from the e2e platform of
the same session, because the tests count every effect in it. One platform serves every test but the
broker restart (which needs a broker of its own): two notification replicas (the scheduler tests race them)
and an SMTP capture in this process that can hold back one message's answer (`fault_platform.smtp`)."""

from __future__ import annotations

import secrets

import pytest

from tests.faults.harness import FaultPlatform, HoldingSmtp
from tests.support.infra import VhostAdmin, _with_vhost, clear_redis, drop_databases


def isolated_env(test_infra, label: str, rabbit_url: str | None = None):
    """(env, cleanup): a fresh vhost (unless `rabbit_url` is a private broker), namespace and Redis prefix."""
    namespace = f"{test_infra.namespace}{label}{secrets.token_hex(2)}"
    cleanups = []
    if rabbit_url is None:
        admin = VhostAdmin(test_infra.rabbit_url)
        vhost = f"hireloop-{namespace}"
        admin.create(vhost)
        cleanups.append(lambda: admin.delete(vhost))
        rabbit_url = _with_vhost(test_infra.rabbit_url, vhost)
    env = {**test_infra.env(), "RABBIT_URL": rabbit_url, "HIRELOOP_NAMESPACE": namespace}

    def cleanup():
        drop_databases(test_infra.mongo_url, namespace)
        clear_redis(test_infra.redis_url, namespace)
        for fn in cleanups:
            fn()

    return env, cleanup


@pytest.fixture(scope="session")
def fault_platform(test_infra, tmp_path_factory):
    var = tmp_path_factory.mktemp("faults")
    smtp = HoldingSmtp(var / "mail").start()  # writes var/mail/index.jsonl like the launcher's capture
    env, cleanup = isolated_env(test_infra, "f")
    fp = FaultPlatform(env, var, extra_env={"SCALE_NOTIFICATION": "2", "SMTP_URL": smtp.url})
    fp.smtp = smtp
    try:
        fp.start()
        yield fp
    finally:
        fp.stop()
        smtp.stop()
        cleanup()
