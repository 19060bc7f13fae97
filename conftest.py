"""Test-session infrastructure shared by every suite (see tests/support/infra.py)."""

import pytest


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: `make test-unit` must never start the infrastructure
def pytest_collection_modifyitems(items):
    """A test that uses the session's infrastructure (RabbitMQ vhost, Redis, Mongo: `test_infra` or `data_infra`,
    directly or through `make_store`, `platform`, ...) is an integration test, whatever its file says: `make
    test-unit` (`-m "not integration and not e2e"`) then runs with no broker, Redis or database at all."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if uses & {"test_infra", "data_infra"} and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def data_infra():
    """Redis and MongoDB, no broker: for tests of what does not use the bus (the gateway against a fake)."""
    from tests.support.infra import start_data_infra

    infra = start_data_infra()
    try:
        yield infra
    finally:
        infra.close()


@pytest.fixture(scope="session")
def test_infra(data_infra):
    """`data_infra` with a RabbitMQ vhost of this session's own."""
    from tests.support.infra import add_broker

    infra = add_broker(data_infra)
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


def _settle_heap():
    """Collect, then move every object alive now out of the cyclic GC's reach (`gc.freeze`).

    A test session holds a large heap (every collected module and item, schemathesis' and hypothesis' state,
    the e2e clients): each full collection walks all of it, and allocation-heavy tests pay for that many
    times over (services/talent_pool/tests/test_pool_index.py: 3.4 s within the collected session, 0.3 s
    with the heap frozen). What is alive between modules mostly lives to the end of the session anyway."""
    import gc

    gc.collect()
    gc.freeze()


def pytest_collection_finish(session):
    _settle_heap()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    if nextitem is None or nextitem.module is not item.module:  # after a module's fixtures are gone
        _settle_heap()
