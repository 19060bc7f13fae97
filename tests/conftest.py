import pytest


@pytest.fixture(scope="session")
def platform(test_infra, tmp_path_factory):
    """The whole platform, started like `make run`, with two screening replicas (scale-out is real)."""
    from tests.support.platform import start_platform, stop_platform

    # The suite's clients share a few keys (the fuzz test alone sends thousands of requests): the default
    # per-key limit would throttle them. Rate limiting itself is tested with gateways of its own
    # (gateway/tests/test_rate_limit_replicas.py).
    running = start_platform(test_infra, tmp_path_factory.mktemp("platform"),
                             {"SCALE_SCREENING": "2", "RATE_LIMIT_KEY": "1000/10000",
                              "RATE_LIMIT_DIVISION": "1000/10000",
                              # every portal and console client of the suite comes from 127.0.0.1
                              "RATE_LIMIT_ANONYMOUS": "1000/10000",
                              # careers applications: 10 at once per address, then one a minute; the careers
                              # tests apply from addresses of their own (X-Forwarded-For from the trusted
                              # loopback proxy), so tests/e2e/test_careers.py can reach the limit
                              "RATE_LIMIT_APPLY": "0.017/10", "TRUSTED_PROXIES": "127.0.0.1",
                              # tests/e2e/test_erasure.py waits for the retention sweep
                              "RETENTION_SWEEP_SECONDS": "2",
                              # tests/e2e/test_observability.py follows traces down to the store's commands
                              "HIRELOOP_TRACE_DB_COMMANDS": "true"})
    try:
        yield running
    finally:
        stop_platform(running.proc)


def pytest_collection_modifyitems(items):
    """Tests marked `after_all_e2e` (e.g. the scan for personal data in every span and log) go after the
    other end-to-end tests, whatever their file names."""
    last = [item for item in items if item.get_closest_marker("after_all_e2e")]
    if last:
        items[:] = [item for item in items if item not in last]
        e2e = [i for i, item in enumerate(items) if item.get_closest_marker("e2e")]
        at = e2e[-1] + 1 if e2e else len(items)
        items[at:at] = last
