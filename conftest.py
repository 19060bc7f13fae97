"""Test-session infrastructure shared by every suite (see tests/support/infra.py)."""

import pytest


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: `make test-unit` must never start the infrastructure
def pytest_collection_modifyitems(items):
    """A test that uses the session's infrastructure (RabbitMQ vhost, Redis, Mongo: `test_infra`, directly or
    through `make_store`, `platform`, ...) is an integration test, whatever its file says: `make test-unit`
    (`-m "not integration and not e2e"`) then runs with no broker, Redis or database at all."""
    for item in items:
        if "test_infra" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def test_infra():
    from tests.support.infra import start_test_infra

    infra = start_test_infra()
    try:
        yield infra
    finally:
        infra.close()


@pytest.fixture
def make_store(test_infra):
    """A factory of service stores, each in a fresh database of this test session, dropped afterwards."""
    from shared.ids import new_id
    from shared.storage import mongo_client

    client = mongo_client(test_infra.mongo_url)
    names = []

    def make(store_cls):
        name = f"{test_infra.namespace}_{store_cls.owner}_{new_id('t')}"
        names.append(name)
        store = store_cls(client, name)
        store.ensure_indexes()
        return store

    try:
        yield make
    finally:
        for name in names:
            client.drop_database(name)
        client.close()
