"""The benchmarks. Each returns a dict of figures; every figure is the median of `runs` runs."""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import nullcontext
from pathlib import Path

from bench import baseline
from bench.harness import BenchPlatform
from bench.profile import Profiler
from bench.stats import median, percentile, summary
from bench.workload import EventWatcher, application_body, new_requisition, run_loadgen

PROFILES: dict = {}  # name -> {process: top functions}, filled by profiled runs
PROFILE = True


CPU: dict = {}  # name -> {process: cores used} during the same window


def profiled(bench: BenchPlatform, name: str, labels: list[str], seconds: float, first: bool = True):
    """For the first run of a figure: py-spy on these processes (bench/profiles/<name>-<process>.txt) and
    the CPU every platform process used in that window."""
    if not first:
        return nullcontext()
    from bench.harness import CpuMeter

    pids = bench.pids()

    class _Ctx(Profiler):
        def __enter__(self):
            self.cpu = CpuMeter(bench).__enter__()
            return super().__enter__()

        def __exit__(self, *exc):
            super().__exit__(*exc)
            self.cpu.__exit__(*exc)
            CPU[name] = self.cpu.share
            if self.exe:
                PROFILES[name] = self.top()

    return _Ctx({label.split(" ")[0]: pids[label] for label in labels if label in pids}, name, seconds,
                enabled=PROFILE)


def run_baseline(bench: BenchPlatform, runs: int, quick: bool) -> dict:
    url = bench.infra.rabbit_url
    n_msgs, n_calls = (2000, 1000) if quick else (5000, 3000)
    rabbit = [asyncio.run(baseline.rabbit_rate(url, n_msgs)) for _ in range(runs)]
    with baseline.EchoService({**os.environ, **bench.infra.env()}):
        rpc = [asyncio.run(baseline.rpc_rate(url, n_calls)) for _ in range(runs)]
    return {"rabbit_msgs_per_s": summary(rabbit), "nameko_rpc_calls_per_s": summary(rpc)}


def read_spec(bench: BenchPlatform) -> dict:
    """A load-generator spec for GET /v1/applications/{id}: 20 applications read by a recruiter, 32 clients."""
    admin = bench.client()
    req = new_requisition(admin)
    recruiter = bench.key("recruiter", ["retail"])
    ids = []
    for n in range(20):
        r = admin.post("/v1/applications", json=application_body(req, n, "read"))
        r.raise_for_status()
        ids.append(r.json()["id"])
    return {"url": bench.base_url, "key": recruiter, "paths": [f"/v1/applications/{i}" for i in ids],
            "concurrency": 32}


def _reads(bench: BenchPlatform, spec: dict, runs: int, duration: float, profile: bool) -> tuple[list, list, float]:
    """A warm-up, `runs` closed-loop runs, then `runs` open-loop runs at half their median rate: the
    (closed, half) runs as {rps, p50, p99, errors}, and that median."""
    def figures(out: dict) -> dict:
        return {"rps": out["ok"] / out["elapsed"], "p50": percentile(out["latencies_ms"], 50),
                "p99": percentile(out["latencies_ms"], 99), "errors": out["errors"]}

    run_loadgen({**spec, "duration": 2})
    closed = []
    for r in range(runs):
        with profiled(bench, "read", ["gateway", "sourcing-1", "mongo (embedded)"], duration - 1, profile and r == 0):
            closed.append(figures(run_loadgen({**spec, "duration": duration})))
    max_rps = median([c["rps"] for c in closed])
    half = [figures(run_loadgen({**spec, "rate": max_rps / 2, "duration": duration})) for _ in range(runs)]
    return closed, half, max_rps


def run_gateway_read(bench: BenchPlatform, runs: int, quick: bool) -> dict:
    """GET /v1/applications/{id} with 32 concurrent clients (closed loop) for max req/s and p50/p99, then an
    open-loop fixed rate at half that maximum for the p99 the target speaks of."""
    spec = read_spec(bench)
    duration = 5 if quick else 10
    closed, half, max_rps = _reads(bench, spec, runs, duration, profile=True)
    # The same with one trace in ten kept (a production setting; the default keeps every one). The root
    # span is the gateway's and every other span follows its decision, so only the gateway restarts.
    bench.restart("gateway", OTEL_TRACES_SAMPLER_ARG=str(SAMPLED_RATIO))
    bench.platform.wait_ready(timeout=60)
    sampled, sampled_half, sampled_rps = _reads(bench, spec, runs, duration, profile=False)
    bench.restart("gateway", OTEL_TRACES_SAMPLER_ARG="1")
    bench.platform.wait_ready(timeout=60)
    return {
        "max_rps": summary([c["rps"] for c in closed]),
        "p50_ms": summary([c["p50"] for c in closed]),
        "p99_ms": summary([c["p99"] for c in closed]),
        "errors": sum(c["errors"] for c in closed + half + sampled + sampled_half),
        "half_rate": round(max_rps / 2, 1),
        "half_rate_p50_ms": summary([h["p50"] for h in half]),
        "half_rate_p99_ms": summary([h["p99"] for h in half]),
        "sampled": {
            "ratio": SAMPLED_RATIO,
            "max_rps": summary([c["rps"] for c in sampled]),
            "p99_ms": summary([c["p99"] for c in sampled]),
            "half_rate": round(sampled_rps / 2, 1),
            "half_rate_p99_ms": summary([h["p99"] for h in sampled_half]),
        },
    }


SAMPLED_RATIO = 0.1


def _intake_once(bench: BenchPlatform, key: str, req: str, tag: str, spec: dict, watcher: EventWatcher) -> dict:
    n = int(spec.get("rate", 400) * spec["duration"] * 1.5) + 100
    bodies = [application_body(req, i, tag) for i in range(n)]
    out = run_loadgen({"url": bench.base_url, "key": key, "paths": ["/v1/applications"], "method": "POST",
                       "bodies": bodies, "record_ids": True, **spec})
    records = out["records"]
    seen = watcher.wait_for([i for _, i in records], timeout=120)
    done = [(watcher.seen[i] - due) * 1000 for due, i in records if i in watcher.seen]
    first = min(due for due, _ in records)
    last = max(watcher.seen[i] for _, i in records if i in watcher.seen)
    return {"submitted": len(records), "screened": seen, "errors": out["errors"], "statuses": out["statuses"],
            "accepted_per_s": len(records) / out["elapsed"], "end_to_end_per_s": seen / (last - first),
            "p50_ms": percentile(done, 50), "p95_ms": percentile(done, 95), "p99_ms": percentile(done, 99)}


# Issue 17's intake target, and the rate its latency target is measured at (half of it).
INTAKE_TARGET_PER_S = 50
OFFERED_PER_S = INTAKE_TARGET_PER_S / 2
COST_BATCH = 200  # applications whose MongoDB commands and RabbitMQ deliveries are counted


def run_intake(bench: BenchPlatform, runs: int, quick: bool) -> dict:
    """POST /v1/applications sustained (closed loop, 16 clients: the maximum), then open loop at 25/s (half
    the 50/s target); each application is screened when sourcing publishes its move to shortlisted or
    screened_out (what a GET then shows). Latency: from when the POST was due to that event. Then what one
    application costs (`_costs`)."""
    admin = bench.client()
    recruiter = bench.key("recruiter", ["retail"])
    duration = 6 if quick else 10
    screened = ("shortlisted", "screened_out")
    with EventWatcher(bench.infra.rabbit_url, "sourcing", ["application_status_changed"],
                      accept=lambda p: p.get("status") in screened) as watcher:
        max_runs, offered = [], []
        for r in range(runs):
            req = new_requisition(admin)
            with profiled(bench, "intake", ["gateway", "sourcing-1", "screening-1", "talent_pool-1",
                                            "notification-1", "mongo (embedded)"], duration - 1, r == 0):
                max_runs.append(_intake_once(bench, recruiter, req, f"max{r}{time.time_ns()}",
                                             {"concurrency": 16, "duration": duration}, watcher))
        for r in range(runs):
            req = new_requisition(admin)
            offered.append(_intake_once(bench, recruiter, req, f"offered-{r}{time.time_ns()}",
                                        {"concurrency": 32, "rate": OFFERED_PER_S, "duration": min(duration, 5)},
                                        watcher))
        costs = _costs(bench, admin, recruiter, watcher)
    return {
        "max_end_to_end_per_s": summary([m["end_to_end_per_s"] for m in max_runs]),
        "max_accepted_per_s": summary([m["accepted_per_s"] for m in max_runs]),
        "max_p95_ms": summary([m["p95_ms"] for m in max_runs]),
        "offered_per_s": OFFERED_PER_S,
        "offered_end_to_end_per_s": summary([o["end_to_end_per_s"] for o in offered]),
        "offered_p50_ms": summary([o["p50_ms"] for o in offered]),
        "offered_p95_ms": summary([o["p95_ms"] for o in offered]),
        "costs": costs,
        "runs": {"max": max_runs, "offered": offered},
    }


def _costs(bench: BenchPlatform, admin, recruiter: str, watcher: EventWatcher) -> dict:
    """MongoDB commands and RabbitMQ deliveries per application (bench/costs.py): every process's counters
    scraped with the platform idle, then COST_BATCH applications submitted at OFFERED_PER_S and all
    screened, the platform idle again (everything they caused done: notices, pool updates, relays), scraped
    again. Timers run meanwhile (outbox sweeps, the notice dispatcher): their idle rate is measured first and
    reported apart, but stays in the totals, as it would in production."""
    from bench import costs

    costs.wait_idle(bench)
    idle_start, t_idle = costs.scrape(bench), time.monotonic()
    time.sleep(5)
    idle_end = costs.scrape(bench)
    idle_seconds = time.monotonic() - t_idle
    idle, _ = costs.difference(idle_start, idle_end)
    req = new_requisition(admin)
    bodies = [application_body(req, i, f"cost{time.time_ns()}") for i in range(COST_BATCH)]
    before, t0 = costs.scrape(bench), time.monotonic()
    out = run_loadgen({"url": bench.base_url, "key": recruiter, "paths": ["/v1/applications"], "method": "POST",
                       "bodies": bodies, "record_ids": True, "concurrency": 16, "rate": OFFERED_PER_S,
                       "duration": COST_BATCH / OFFERED_PER_S})
    ids = [i for _, i in out["records"]]
    screened = watcher.wait_for(ids, timeout=600)
    waited = costs.wait_idle(bench)
    after = costs.scrape(bench)
    window = time.monotonic() - t0
    delta, restarted = costs.difference(before, after)
    figures = costs.per_application(delta, len(ids))
    return {**figures, "submitted": len(ids), "screened": screened, "errors": out["errors"],
            "window_seconds": round(window, 1), "idle_wait_seconds": round(waited, 1), "restarted": restarted,
            "idle_mongo_commands_per_s": round(sum(idle["mongo"].values()) / idle_seconds, 1),
            # per_application of 1 "application" is the plain sum per service; per second here
            "idle_mongo_by_service_per_s": {k: round(v / idle_seconds, 1) for k, v in
                                            costs.per_application(idle, 1)["mongo_by_service"].items()}}


def _wait_index(bench: BenchPlatform, label: str, candidates: int, timeout: float) -> float:
    """Waits for talent_pool's log line "pool index built" with this many candidates; its build seconds."""
    import json as _json

    log = bench.tmp / "log" / f"{label}.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines()[::-1] if log.exists() else []:
            if '"pool index built"' in line:
                rec = _json.loads(line)
                if rec.get("candidates") == candidates:
                    return rec["seconds"]
        time.sleep(0.5)
    raise TimeoutError(f"{label} did not build its index of {candidates} in {timeout:g}s")


def run_resurfacing(bench: BenchPlatform, runs: int, quick: bool, sizes=None) -> dict:
    """For each pool size: seed talent_pool's store (bench/pool_gen.py), restart it, then open urgent
    requisitions one after another and time, for each, from the POST's answer (opened) to the first
    GET /v1/requisitions/{id}/matches that answers 200; then the GET alone, warm."""
    import numpy as np

    from bench import pool_gen
    from bench.harness import rss_mb

    # 1 M is measured by the index alone (bench/index_bench.py): the embedded Mongo takes in about 900 pool
    # documents/s on this machine, so seeding a million would take the run 18 minutes.
    sizes = sizes or ([2_000, 20_000] if quick else [10_000, 100_000])
    per_size = 10 if quick else 20
    hr = bench.key("hr", ["retail"])
    recruiter = bench.key("recruiter", ["retail"])
    label = "talent_pool-1"
    out: dict = {"sizes": {}}
    seeded = 0
    rng = np.random.default_rng(42)
    with bench.client(hr) as hr_c, bench.client(recruiter) as rec_c:
        for size in sizes:
            t0 = time.perf_counter()
            pool_gen.seed(bench.mongo_url(), bench.database("talent_pool"), size - seeded, seed=size)
            seed_s = time.perf_counter() - t0
            seeded = size
            t0 = time.perf_counter()
            bench.restart(label, LOG_LEVEL="INFO")  # its "pool index built" line tells when it is ready
            build_s = _wait_index(bench, label, size, timeout=120 if quick else 600)
            ready_s = time.perf_counter() - t0
            open_to_read, get_ms, counts = [], [], []
            prof = profiled(bench, f"matches-{size}", [label, "gateway", "mongo (embedded)"], 6,
                            size == sizes[-1])
            prof.__enter__()
            for _ in range(per_size):
                r = hr_c.post("/v1/requisitions", json=pool_gen.urgent_requisition(rng))
                r.raise_for_status()
                opened = time.perf_counter()
                rid = r.json()["id"]
                while True:
                    m = rec_c.get(f"/v1/requisitions/{rid}/matches")
                    if m.status_code == 200:
                        break
                    if m.status_code != 404 or time.perf_counter() - opened > 30:
                        raise RuntimeError(f"matches of {rid}: {m.status_code} {m.text[:200]}")
                    time.sleep(0.005)
                open_to_read.append((time.perf_counter() - opened) * 1000)
                counts.append(len(m.json()))
                t1 = time.perf_counter()
                rec_c.get(f"/v1/requisitions/{rid}/matches").raise_for_status()
                get_ms.append((time.perf_counter() - t1) * 1000)
            prof.__exit__(None, None, None)
            pid = bench.pids()[label]
            out["sizes"][str(size)] = {
                "seed_seconds": round(seed_s, 1), "index_build_seconds": build_s,
                "restart_to_ready_seconds": round(ready_s, 1),
                "open_to_readable_p50_ms": percentile(open_to_read, 50),
                "open_to_readable_p95_ms": percentile(open_to_read, 95),
                "get_matches_p50_ms": percentile(get_ms, 50), "get_matches_p95_ms": percentile(get_ms, 95),
                "matches_returned_median": median(counts), "talent_pool_rss_mb": round(rss_mb(pid) or 0, 1),
                "samples": len(open_to_read),
            }
    return out


async def _preload_screening(rabbit_url: str, template: dict, headers: dict, n: int, tag: str,
                             var_dir: Path) -> list[str]:
    """Publishes n copies of a real application_received envelope (new event and application ids) straight
    into screening's inbox, with confirms; returns the application ids. Each copy is signed again with
    sourcing's key from the bench platform's `var_dir/keys` (a changed envelope needs its producer's signature)."""
    import copy
    import json as _json

    import aio_pika

    from shared.event_signing import parse_signing_key, sign_envelope

    sourcing_key = parse_signing_key((var_dir / "keys" / "sourcing.key").read_text().strip())

    from shared.bus.topology import inbox_queue
    from shared.ids import new_id

    conn = await aio_pika.connect_robust(rabbit_url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        ids, pending = [], []
        for i in range(n):
            env = copy.deepcopy(template)
            env["event_id"] = new_id("evt")
            env["payload"]["application_id"] = app_id = f"app_bench{tag}{i:06d}"
            env = sign_envelope(env, sourcing_key)
            ids.append(app_id)
            pending.append(channel.default_exchange.publish(
                aio_pika.Message(_json.dumps(env).encode(), headers=headers, content_type="application/json",
                                 delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=inbox_queue("screening")))
            if len(pending) >= 200:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        return ids
    finally:
        await conn.close()


async def _capture_event(rabbit_url: str, producer: str, event_type: str, trigger, timeout: float = 30):
    """The next `event_type` event of `producer` after `trigger()` runs: (envelope, headers), from a queue
    of the bench's own bound to the producer's events exchange."""
    import json as _json
    import secrets

    import aio_pika

    from shared.bus.topology import events_exchange

    conn = await aio_pika.connect_robust(rabbit_url)
    try:
        channel = await conn.channel()
        exchange = await channel.declare_exchange(events_exchange(producer), aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        queue = await channel.declare_queue(f"bench.capture-{secrets.token_hex(4)}", exclusive=True,
                                            auto_delete=True)
        await queue.bind(exchange, routing_key=event_type)
        await asyncio.get_running_loop().run_in_executor(None, trigger)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = await queue.get(fail=False)
            if message is not None:
                await message.ack()
                return _json.loads(message.body), dict(message.headers or {})
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no {producer}.{event_type} event within {timeout:g}s")
    finally:
        await conn.close()


async def _binding(rabbit_url: str, queue_name: str, producer: str, event_type: str, bound: bool) -> None:
    """Binds (or unbinds) a service's inbox to one event type of a producer."""
    import aio_pika

    from shared.bus.topology import events_exchange

    conn = await aio_pika.connect_robust(rabbit_url)
    try:
        channel = await conn.channel()
        queue = await channel.get_queue(queue_name, ensure=False)
        exchange = await channel.get_exchange(events_exchange(producer), ensure=False)
        if bound:
            await queue.bind(exchange, routing_key=event_type)
        else:
            await queue.unbind(exchange, routing_key=event_type)
    finally:
        await conn.close()


def run_scaleout(bench: BenchPlatform, runs: int, quick: bool) -> dict:
    """Screening's consume rate with 1 and with 2 replicas: its inbox is pre-loaded with N copies of a real
    application_received event while no replica consumes, then the replicas are let go and the time to the
    N-th application_screened event is taken. Meanwhile sourcing's inbox is unbound from screened events
    (they name applications it never had), so only screening works. (Pausing sourcing instead would
    stall the embedded Mongo if it stopped inside a transaction.)"""
    from shared.bus.topology import inbox_queue

    n = 300 if quick else 600
    url = bench.infra.rabbit_url
    admin = bench.client()
    req = new_requisition(admin)
    # A real event as the template, seen on sourcing's events exchange.
    template, headers = asyncio.run(_capture_event(url, "sourcing", "application_received", lambda: admin.post(
        "/v1/applications", json=application_body(req, 0, f"tpl{time.time_ns()}")).raise_for_status()))
    results: dict = {}
    asyncio.run(_binding(url, inbox_queue("sourcing"), "screening", "application_screened", False))
    try:
        rates = _drain_runs(bench, runs, n, url, template, headers)
    finally:
        asyncio.run(_binding(url, inbox_queue("sourcing"), "screening", "application_screened", True))
    one, two = median(rates[1]), median(rates[2])
    results = {"events": n, "one_replica_per_s": summary(rates[1]), "two_replicas_per_s": summary(rates[2]),
               "ratio_2_to_1": two / one if one else None}
    return results


def _drain_runs(bench: BenchPlatform, runs: int, n: int, url: str, template: dict, headers: dict) -> dict:
    from shared.bus.topology import inbox_queue

    with EventWatcher(url, "screening", ["application_screened"]) as watcher:
        order = [1, 2] * runs  # alternate, so drifting machine load hits both alike
        rates: dict[int, list[float]] = {1: [], 2: []}
        for r, replicas in enumerate(order):
            if replicas == 1:
                bench.platform.stop_process("screening-2")  # stopped, not paused: it would hold prefetched work
            elif bench.platform.process("screening-2").poll() is not None:
                bench.platform.start_process("screening-2")
                time.sleep(8)  # its consumer is up (start-up of a service on a busy machine)
            active = ["screening-1"] + (["screening-2"] if replicas == 2 else [])
            # A service declares the whole topology when it starts, bindings included: unbind again.
            asyncio.run(_binding(url, inbox_queue("sourcing"), "screening", "application_screened", False))
            for label in active:
                bench.pause(label)
            ids = asyncio.run(_preload_screening(url, template, headers, n, f"{r}x{time.time_ns() % 10**6}",
                                                 bench.tmp))
            start = time.time()
            for label in active:
                bench.resume(label)
            with profiled(bench, f"scaleout-{replicas}", active + ["mongo (embedded)"], 4, r < 2):
                got = watcher.wait_for(ids, timeout=300)
            last = max(watcher.seen[i] for i in ids if i in watcher.seen)
            rates[replicas].append(got / (last - start))
        if bench.platform.process("screening-2").poll() is not None:
            bench.platform.start_process("screening-2")
    return rates
