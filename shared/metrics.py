"""Prometheus metrics of a service process, served on its own port (`METRICS_PORT`).

One process runs one service, so the process-wide default registry is the service's (it also carries
the process collector: CPU, RSS, open files). Names follow Prometheus conventions; every series has a
`service` label so one dashboard can show all five services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily
from pymongo import monitoring

disable_created_metrics()  # the `_created` twin of every counter doubles the scrape for nothing we chart

# Latency buckets from 2.5 ms (a cached read) to 30 s (a handler waiting on a contended store).
BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

WORKERS = Counter("hireloop_worker_calls_total",
                  "Entrypoint calls (RPC methods, event handlers, timers) by outcome",
                  ["service", "entrypoint", "name", "outcome"])
WORKER_LATENCY = Histogram("hireloop_worker_duration_seconds", "Entrypoint call duration",
                           ["service", "entrypoint", "name"], buckets=BUCKETS)
# Every delivery a service's consumer takes: `<service>.inbox` (events, including those coming back from
# `<service>.wait` after parking, and redeliveries) and `rpc-<service>` (RPC requests).
MESSAGES_CONSUMED = Counter("hireloop_messages_consumed_total", "Messages taken from a service queue",
                            ["service", "queue"])
MESSAGES_FAILED = Counter("hireloop_messages_failed_total",
                          "Messages whose handling failed and that went back to be retried (requeued or parked)",
                          ["service", "queue", "action"])
MESSAGES_DEAD_LETTERED = Counter("hireloop_messages_dead_lettered_total", "Messages sent to the dead-letter queue",
                                 ["service", "reason"])
EVENTS_PUBLISHED = Counter("hireloop_events_published_total", "Outbox events published to the broker",
                           ["service", "type"])
BUSINESS = Counter("hireloop_business_events_total",
                   "Business events: applications received, screened out, offers sent, re-engagements, ...",
                   ["service", "event"])
OUTBOX_BACKLOG = Gauge("hireloop_outbox_backlog", "Outbox events committed but not yet published", ["service"])
SCHEDULER_BACKLOG = Gauge("hireloop_scheduler_backlog", "Scheduled work not done yet, by state",
                          ["service", "state"])


def business_names(event_type: str, payload: dict) -> list[str]:
    """The business counters a committed event moves (one table, so every service counts the same way)."""
    if event_type == "application_received":
        return ["applications_received"] + (["applications_fast_tracked"] if payload.get("fast_track") else [])
    if event_type == "application_screened":
        return ["screened_in" if (payload.get("result") or {}).get("passed") else "screened_out"]
    if event_type == "application_status_changed" and payload.get("status") in ("offered", "hired", "declined"):
        return [f"applications_{payload['status']}"]
    if event_type == "decision_recorded":
        return [f"decisions_{(payload.get('decision') or {}).get('outcome', 'unknown')}"]
    if event_type == "notice_sent":
        return ["notices_sent"] + (["offers_sent"] if payload.get("kind") == "offer" else [])
    if event_type == "candidate_pooled":
        return ["candidates_pooled"]
    if event_type == "matches_surfaced":
        return ["matches_surfaced"]
    if event_type == "reengagement_requested":
        return ["reengagements_requested"]
    if event_type == "reengagement_answered":
        return [{"accept": "reengagements_accepted", "decline": "reengagements_declined"}.get(
            payload.get("response"), "reengagements_answered")]
    return []


def count_business(service: str, event_type: str, payload: dict) -> None:
    for name in business_names(event_type, payload):
        BUSINESS.labels(service, name).inc()


MONGO_COMMANDS_NAME = "hireloop_mongo_commands"


class MongoCommandCounter(monitoring.CommandListener):
    """Counts the MongoDB commands a client sends, by command name (find, insert, update, commitTransaction,
    ...): given to the client as an event listener. It runs on every command, so it does one dict increment
    and nothing else; Prometheus reads the dict at scrape time (MongoCommands)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        self.counts[name] = self.counts.get(name, 0) + 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class MongoCommands:
    """The Prometheus collector of `hireloop_mongo_commands_total{service, command}`: one counting listener per
    service (one per process in production; several services share a test process)."""

    def __init__(self) -> None:
        self.listeners: dict[str, MongoCommandCounter] = {}

    def listener(self, service: str) -> MongoCommandCounter:
        return self.listeners.setdefault(service, MongoCommandCounter())

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(MONGO_COMMANDS_NAME, "MongoDB commands sent by this process, by command name",
                                   labels=["service", "command"])

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield self._family()  # the name only: a filtered scrape (`?name[]=`) finds it without collecting

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = self._family()
        for service, listener in list(self.listeners.items()):
            for command, count in list(listener.counts.items()):
                family.add_metric([service, command], count)
        yield family


def mongo_commands(registry: CollectorRegistry = REGISTRY) -> MongoCommands:
    """The MongoDB command counters of a registry (made and registered once)."""
    found = _MONGO_COMMANDS.get(registry)
    if found is None:
        found = _MONGO_COMMANDS[registry] = MongoCommands()
        registry.register(found)
    return found


_MONGO_COMMANDS: dict[CollectorRegistry, MongoCommands] = {}


def count_mongo_commands(service: str, registry: CollectorRegistry = REGISTRY) -> MongoCommandCounter:
    """The listener to give a MongoClient (`event_listeners=[...]`) so its commands count for `service`."""
    return mongo_commands(registry).listener(service)


def gauge_from(gauge: Gauge, labels: tuple[str, ...], read: Callable[[], float]) -> None:
    """Read the gauge's value at scrape time (e.g. a count in the store); a failing read reports -1."""

    def safe() -> float:
        try:
            return float(read())
        except Exception:  # noqa: BLE001 - a scrape must not fail because the store is away
            return -1.0

    gauge.labels(*labels).set_function(safe)


__all__ = ["REGISTRY", "count_business", "count_mongo_commands", "gauge_from"]
