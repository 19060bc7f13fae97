"""The counting listener behind `hireloop_mongo_commands_total{service, command}` (shared/metrics.py): every
MongoDB command a service's store or the gateway sends is counted by name, against the real store of the
test fixtures, and Prometheus reads the counts at scrape time (`make bench` divides them per application)."""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from shared import metrics
from shared.config import Settings
from shared.ids import new_id
from shared.storage import ServiceStore, mongo_client


def scraped(registry: CollectorRegistry, *names: str) -> dict[tuple[str, str], float]:
    """{(service, command): value} of a scrape (filtered to `names` when given, as `?name[]=` does)."""
    from prometheus_client.parser import text_string_to_metric_families

    source = registry.restricted_registry(names) if names else registry
    return {(s.labels["service"], s.labels["command"]): s.value
            for family in text_string_to_metric_families(generate_latest(source).decode())
            for s in family.samples if s.name == "hireloop_mongo_commands_total"}


def test_each_command_is_counted_by_name_and_scraped_as_a_counter(data_infra):
    registry = CollectorRegistry()
    listener = metrics.count_mongo_commands("screening", registry)
    assert metrics.count_mongo_commands("screening", registry) is listener  # one per service and registry
    client = mongo_client(data_infra.mongo_url, event_listeners=[listener])
    db = client[f"{data_infra.namespace}_count_{new_id('t')}"]
    try:
        db.things.insert_one({"_id": "a", "n": 1})
        db.things.find_one({"_id": "a"})
        db.things.find_one({"_id": "b"})
        db.things.update_one({"_id": "a"}, {"$inc": {"n": 1}})
        with client.start_session() as session, session.start_transaction():
            db.things.insert_one({"_id": "c"}, session=session)
        assert listener.counts == {"insert": 2, "find": 2, "update": 1, "commitTransaction": 1}
        assert scraped(registry) == {("screening", "insert"): 2, ("screening", "find"): 2,
                                     ("screening", "update"): 1, ("screening", "commitTransaction"): 1}
        db.things.find_one({"_id": "a"})
        assert scraped(registry)[("screening", "find")] == 3  # read at scrape time
    finally:
        client.drop_database(db.name)
        client.close()


def test_a_filtered_scrape_finds_the_counts_without_running_the_store_reading_gauges():
    """`make bench` scrapes `?name[]=hireloop_mongo_commands_total`: the outbox gauge (a count in the store at
    every scrape) must not run then, or the scrape would add commands to what it measures."""
    registry = CollectorRegistry()
    metrics.count_mongo_commands("sourcing", registry).counts["find"] = 5
    reads = []
    Gauge("probe_backlog", "a gauge read from the store", registry=registry).set_function(lambda: reads.append(1) or 0)
    assert scraped(registry, "hireloop_mongo_commands_total") == {("sourcing", "find"): 5}
    assert reads == []
    scraped(registry)
    assert reads == [1]  # the whole scrape does read it


def test_a_service_store_and_the_gateway_count_their_commands(data_infra):
    from nameko import config

    from gateway import metrics as gateway_metrics
    from gateway.connections import Gateway
    from shared.bus.configured import SETTINGS_KEY
    from shared.bus.nameko_ext import Store

    service = f"probe{new_id('s')[-6:]}"
    settings = dataclasses.replace(Settings(), mongo_url=data_infra.mongo_url, namespace=data_infra.namespace)
    provider = Store(ServiceStore)
    provider.container = SimpleNamespace(service_name=service)
    with config.patch({SETTINGS_KEY: settings}):
        provider.setup()
    try:
        counts = metrics.mongo_commands().listener(service).counts
        assert counts["createIndexes"] >= 1  # ensure_indexes at start, through the counted client
        before = counts.get("find", 0)
        provider.store.is_erased("cand_x")
        assert counts["find"] == before + 1
        assert scraped(metrics.REGISTRY, "hireloop_mongo_commands_total")[(service, "find")] == before + 1
    finally:
        provider.store.client.drop_database(settings.database_name(service))
        provider.stop()

    async def gateway_ping() -> None:
        gateway = Gateway(settings)
        try:
            await gateway.mongo.admin.command("ping")
        finally:
            await gateway.stop()

    pings = metrics.mongo_commands(gateway_metrics.REGISTRY).listener("gateway").counts.get("ping", 0)
    asyncio.run(gateway_ping())
    assert scraped(gateway_metrics.REGISTRY)[("gateway", "ping")] == pings + 1  # the gateway's own /metrics
