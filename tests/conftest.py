import pytest


@pytest.fixture(scope="session")
def platform(test_infra, tmp_path_factory):
    """The whole platform, started like `make run`, with two screening replicas (scale-out is real)."""
    from tests.support.platform import start_platform, stop_platform

    running = start_platform(test_infra, tmp_path_factory.mktemp("platform"), {"SCALE_SCREENING": "2"})
    try:
        yield running
    finally:
        stop_platform(running.proc)
