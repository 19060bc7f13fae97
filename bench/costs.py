"""What one application costs the platform: MongoDB commands and RabbitMQ deliveries, from every platform
process's own counters (issue 17: ≤ 20 commands and ≤ 7 deliveries per application).

Each process counts what it does itself: `hireloop_mongo_commands_total{service,command}` (a counting
listener on its MongoDB client, shared/metrics.py) and `hireloop_messages_consumed_total{service,queue}`
(every delivery its consumers take: `<service>.inbox` events, redeliveries and events back from
`<service>.wait` included, and `rpc-<service>` RPC requests). The benchmark scrapes all of them before and
after a fixed batch of applications, with the platform idle at both ends, and divides the difference.
Services are scraped with `?name[]=` so the scrape itself sends no MongoDB command (the outbox gauge counts
the store when it is collected); the gateway's /metrics has no such gauge.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Mapping

MONGO = "hireloop_mongo_commands_total"
CONSUMED = "hireloop_messages_consumed_total"
FAILED = "hireloop_messages_failed_total"  # handled later: parked in `*.wait` or requeued

# {"mongo": {(service, command): n}, "consumed": {(service, queue): n}, "failed": {(service, action): n}}
Counts = dict[str, dict[tuple[str, str], float]]
KINDS = {MONGO: ("mongo", "command"), CONSUMED: ("consumed", "queue"), FAILED: ("failed", "action")}


def parse_counts(text: str) -> Counts:
    """The three counters of one Prometheus text scrape (labels other than these two are summed over)."""
    from prometheus_client.parser import text_string_to_metric_families

    counts: Counts = {kind: {} for kind, _ in KINDS.values()}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name not in KINDS:
                continue
            kind, label = KINDS[s.name]
            key = (s.labels.get("service", ""), s.labels.get(label, ""))
            counts[kind][key] = counts[kind].get(key, 0.0) + s.value
    return counts


def difference(before: Mapping[str, Counts], after: Mapping[str, Counts]) -> tuple[Counts, list[str]]:
    """What every process counted between two scrapes, summed over processes (replicas of a service add up),
    and the processes whose counters went backwards (restarted meanwhile: their figures are left out)."""
    total: Counts = {kind: {} for kind, _ in KINDS.values()}
    restarted = []
    for process, end in after.items():
        start = before.get(process)
        if start is None:
            restarted.append(process)
            continue
        deltas = {kind: {key: value - start.get(kind, {}).get(key, 0.0) for key, value in end[kind].items()}
                  for kind in end}
        if any(v < 0 for kind in deltas.values() for v in kind.values()):
            restarted.append(process)
            continue
        for kind, values in deltas.items():
            for key, value in values.items():
                if value:
                    total[kind][key] = total[kind].get(key, 0.0) + value
    return total, sorted(restarted)


def per_application(delta: Counts, applications: int) -> dict:
    """The figures of the table: MongoDB commands per application (total, by service, by command name) and
    RabbitMQ deliveries per application (events to service inboxes; RPC requests apart)."""
    n = max(applications, 1)

    def share(pairs: Mapping[tuple[str, str], float], pick: Callable[[tuple[str, str]], str | None]) -> dict:
        out: dict[str, float] = {}
        for key, value in pairs.items():
            name = pick(key)
            if name is not None:
                out[name] = out.get(name, 0.0) + value
        return {k: round(v / n, 2) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}

    mongo, consumed = delta["mongo"], delta["consumed"]
    inbox = {k: v for k, v in consumed.items() if k[1].endswith(".inbox")}
    rpc = {k: v for k, v in consumed.items() if k[1].startswith("rpc-")}
    return {
        "applications": applications,
        "mongo_commands_per_application": round(sum(mongo.values()) / n, 2),
        "mongo_by_service": share(mongo, lambda k: k[0]),
        "mongo_by_command": share(mongo, lambda k: k[1]),
        "mongo_by_service_command": share(mongo, lambda k: f"{k[0]} {k[1]}"),
        "deliveries_per_application": round(sum(inbox.values()) / n, 2),
        "deliveries_by_service": share(inbox, lambda k: k[0]),
        "rpc_deliveries_per_application": round(sum(rpc.values()) / n, 2),
        "rpc_by_service": share(rpc, lambda k: k[0]),
        # why some events were delivered more than once: parked until an earlier one commits, or requeued
        "parked_per_application": round(sum(v for k, v in delta.get("failed", {}).items() if k[1] == "parked") / n, 2),
        "requeued_per_application": round(sum(v for k, v in delta.get("failed", {}).items()
                                              if k[1] == "requeued") / n, 2),
    }


# ----------------------------------------------------------------------------------------------------
# against a running benchmark platform


def scrape_urls(bench) -> dict[str, str]:
    """Every platform process's metrics URL: the services' own ports (infra/run.py `metrics_ports`, from
    METRICS_BASE_PORT up) filtered to the counters above, and the gateway's /metrics."""
    query = "?" + "&".join(f"name%5B%5D={name}" for name in KINDS)  # name[]=, as prometheus_client reads it
    urls = {label: f"http://127.0.0.1:{port}/metrics{query}" for label, port in bench.platform.metrics_ports.items()
            if bench.platform.process(label).poll() is None}
    urls["gateway"] = f"{bench.base_url}/metrics"
    return urls


def scrape(bench) -> dict[str, Counts]:
    found = {}
    for label, url in scrape_urls(bench).items():
        with urllib.request.urlopen(url, timeout=10) as r:
            found[label] = parse_counts(r.read().decode())
    return found


def busy(bench) -> list[str]:
    """What still moves: events ready in an inbox or waiting in `*.wait`, events in an outbox not yet sent."""
    import asyncio

    from pymongo import MongoClient

    from shared.bus.aio_rpc import AsyncRpcClient
    from shared.bus.topology import inbox_queue, wait_queue
    from shared.contracts.common import SERVICES

    async def depths() -> dict:
        client = AsyncRpcClient(bench.infra.rabbit_url, name="bench-costs")
        await client.connect()
        try:
            return await client.queue_depths([q(s) for s in SERVICES for q in (inbox_queue, wait_queue)])
        finally:
            await client.close()

    found = [f"{name}: {ready} ready" for name, (ready, _) in asyncio.run(depths()).items() if ready]
    # Read by the benchmark's own client, which no service counts.
    with MongoClient(bench.mongo_url(), serverSelectionTimeoutMS=5000) as client:
        for service in SERVICES:
            unsent = client[bench.database(service)].outbox.count_documents({"sent_at": None})
            if unsent:
                found.append(f"{service} outbox: {unsent} unsent")
    return found


def wait_idle(bench, quiet: float = 2.0, timeout: float = 180) -> float:
    """Waits until the platform is idle: no event ready or waiting in a service queue, every outbox sent,
    and no delivery taken by any process for `quiet` seconds. Returns the seconds waited."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        if not busy(bench):
            consumed = {label: sum(c["consumed"].values()) for label, c in scrape(bench).items()}
            if consumed == last:
                return time.monotonic() - t0
            last = consumed
        else:
            last = None
        time.sleep(quiet)
    raise TimeoutError(f"platform not idle after {timeout:g}s: {busy(bench)}")
