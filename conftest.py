"""Test-session infrastructure shared by every suite (see tests/support/infra.py)."""

import pytest


@pytest.fixture(scope="session")
def test_infra():
    from tests.support.infra import start_test_infra

    infra = start_test_infra()
    try:
        yield infra
    finally:
        infra.close()
