"""Sentinels instead of "sleep, then see that nothing happened".

A test that checks something did NOT happen (no second email, no retry, no claim of a leased notice) needs to
know the thing had its chance. A sleep only guesses how long that takes, and is too short on a loaded machine
and too long everywhere else. Instead, wait for positive evidence that the path it would have taken ran again:

- `timer_ticks`: a service process's timer (e.g. the notification dispatcher) has run `ticks` more times, read
  from the process's own /metrics (`hireloop_worker_calls_total`, every outcome). Two ticks: the second one
  started after the call, so it saw everything that was done before.
- a later event or request through the same path, waited for by the test itself (see the callers).
"""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families


def worker_calls(metrics_url: str, name: str, kind: str = "timer") -> float:
    """Calls of one entrypoint (`kind`: timer, event, rpc; `name`: its method or `producer.event_type`) a
    process has finished, whatever their outcome."""
    text = httpx.get(metrics_url, timeout=10).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != "hireloop_worker_calls":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("entrypoint") == kind \
                    and sample.labels.get("name") == name:
                total += sample.value
    return total


def timer_ticks(metrics_urls: list[str], name: str, ticks: int = 2, timeout: float = 30.0) -> None:
    """Return once the timer `name` of every process in `metrics_urls` has run `ticks` more times than now."""
    before = {url: worker_calls(url, name) for url in metrics_urls}
    deadline = time.monotonic() + timeout
    while True:
        now = {url: worker_calls(url, name) for url in metrics_urls}
        behind = {url: now[url] - before[url] for url in metrics_urls if now[url] - before[url] < ticks}
        if not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timer {name!r} did not tick {ticks} times within {timeout:g}s: {behind}")
        time.sleep(0.1)
