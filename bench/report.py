"""The markdown table of a benchmark run (bench/results/<date>.md and docs/performance.md)."""

from __future__ import annotations

import math

from bench.stats import growth_exponent, ratio


def _n(x, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{digits}f}"


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


# Issue 17's targets, from `make bench` on the 2-core machine.
INTAKE_PER_S = 50  # applications/s, POST -> screened, sustained
OFFERED_PER_S = INTAKE_PER_S / 2  # the rate its p95 is measured at
INTAKE_P95_MS = 2000
SCALEOUT_RATIO = 1.4  # 2 screening replicas against 1
MATCHES_POOL, MATCHES_P95_MS = 100_000, 50  # GET /v1/requisitions/{id}/matches through the gateway
READ_RATIO = 0.40  # gateway GET /v1/applications/{id} against raw nameko RPC, with production sampling
MONGO_PER_APPLICATION = 20
DELIVERIES_PER_APPLICATION = 7
RSS_MB = 150


def row(figure: str, value: str, ratio_text: str = "", target: str = "", met: str = "") -> str:
    return f"| {figure} | {value} | {ratio_text} | {target} | {met} |"


def not_measured(figure: str, target: str, why: str = "not run") -> str:
    """A target's row when this run did not measure it: every target is in every table."""
    return row(figure, why, target=target, met="n/a")


def _at_most(value, limit) -> str:
    return _met(None if value is None or (isinstance(value, float) and math.isnan(value)) else value <= limit)


def _at_least(value, limit) -> str:
    return _met(None if value is None or (isinstance(value, float) and math.isnan(value)) else value >= limit)


def _top(shares: dict, unit: str = "", k: int = 8) -> str:
    items = list(shares.items())
    text = ", ".join(f"{name} {_n(v, 1)}{unit}" for name, v in items[:k])
    return text + (f", … {len(items) - k} more" if len(items) > k else "") if items else "none"


def _read_rows(g: dict | None, rpc) -> list[str]:
    target = f"≥ {READ_RATIO:.2f} of nameko RPC"
    sampled_figure = "gateway `GET /v1/applications/{id}`, 32 clients, production sampling"
    if not g:
        return [not_measured(sampled_figure + ": max", target)]
    rps = g["max_rps"]["median"]
    lines = [
        row("gateway `GET /v1/applications/{id}`, 32 clients, every trace kept (`make run`'s default): max",
            f"{_n(rps)} req/s", f"{_n(ratio(rps, rpc), 2)} of nameko RPC", "reported (target: sampled, below)"),
        row("… latency at max: p50 / p99", f"{_n(g['p50_ms']['median'], 1)} / {_n(g['p99_ms']['median'], 1)} ms"),
        row(f"… p99 at half the max ({_n(g['half_rate'])} req/s, open loop)",
            f"{_n(g['half_rate_p99_ms']['median'], 1)} ms (p50 {_n(g['half_rate_p50_ms']['median'], 1)})"),
    ]
    sampled = g.get("sampled")
    if not sampled:
        return lines + [not_measured(sampled_figure + ": max", target)]
    srps = sampled["max_rps"]["median"]
    sq = ratio(srps, rpc)
    return lines + [
        row(f"{sampled_figure} (1 trace in {round(1 / sampled['ratio'])} kept, `OTEL_TRACES_SAMPLER_ARG="
            f"{sampled['ratio']:g}`): max", f"{_n(srps)} req/s", f"{_n(sq, 2)} of nameko RPC", target,
            _at_least(sq, READ_RATIO)),
        row(f"… … p99 at half that max ({_n(sampled['half_rate'])} req/s, open loop)",
            f"{_n(sampled['half_rate_p99_ms']['median'], 1)} ms"),
    ]


def _intake_rows(i: dict | None, rabbit) -> list[str]:
    sustained = "intake: `POST /v1/applications` until screened, sustained (16 clients)"
    offered_figure = f"… at {OFFERED_PER_S:g}/s offered (half the target): p95 submit → screened"
    if not i:
        return [not_measured(sustained, f"≥ {INTAKE_PER_S}/s"),
                not_measured(offered_figure, f"≤ {INTAKE_P95_MS:,} ms")] + _cost_rows(None)
    e2e = i["max_end_to_end_per_s"]["median"]
    offered = i.get("offered_per_s", 50)  # runs before issue 17 offered 50/s
    p95 = (i.get("offered_p95_ms") or i.get("at_50_p95_ms"))["median"]
    p50 = (i.get("offered_p50_ms") or i.get("at_50_p50_ms"))["median"]
    done = (i.get("offered_end_to_end_per_s") or i.get("at_50_end_to_end_per_s"))["median"]
    return [
        row(sustained, f"{_n(e2e, 1)} applications/s (accepted {_n(i['max_accepted_per_s']['median'], 1)}/s)",
            f"{_n(ratio(e2e, rabbit), 3)} of raw RabbitMQ", f"≥ {INTAKE_PER_S}/s", _at_least(e2e, INTAKE_PER_S)),
        row(f"… at {offered:g}/s offered{' (half the target)' if offered == OFFERED_PER_S else ''}: p95 submit → "
            f"screened", f"{_n(p95)} ms (p50 {_n(p50)}, done {_n(done, 1)}/s)", "",
            f"≤ {INTAKE_P95_MS:,} ms at {OFFERED_PER_S:g}/s",
            _at_most(p95, INTAKE_P95_MS) if offered == OFFERED_PER_S else f"n/a (offered {offered:g}/s)"),
    ] + _cost_rows(i.get("costs"))


def _cost_rows(c: dict | None) -> list[str]:
    mongo_figure = "MongoDB commands per application (every process's counting listener)"
    deliveries_figure = "RabbitMQ deliveries per application: events taken from service inboxes"
    if not c:
        return [not_measured(mongo_figure, f"≤ {MONGO_PER_APPLICATION}"),
                not_measured(deliveries_figure, f"≤ {DELIVERIES_PER_APPLICATION}")]
    apps = c["applications"]
    timers = c["idle_mongo_commands_per_s"] * c["window_seconds"] / max(apps, 1)
    mongo = c["mongo_commands_per_application"]
    deliveries = c["deliveries_per_application"]
    restarted = f"; left out, restarted meanwhile: {', '.join(c['restarted'])}" if c.get("restarted") else ""
    return [
        row(f"{mongo_figure}; {apps} applications submitted at {OFFERED_PER_S:g}/s, {c['screened']} screened, "
            f"counted until the platform was idle ({_n(c['window_seconds'])} s){restarted}",
            f"{_n(mongo, 1)}", "", f"≤ {MONGO_PER_APPLICATION}", _at_most(mongo, MONGO_PER_APPLICATION)),
        row("… by service", _top(c["mongo_by_service"])),
        row("… by command", _top(c["mongo_by_command"])),
        row("… by service and command", _top(c.get("mongo_by_service_command", {}), k=12)),
        row("… of which timers (outbox sweeps, notice dispatcher) at their idle rate",
            f"≈ {_n(timers, 1)} ({_n(c['idle_mongo_commands_per_s'], 1)} commands/s idle)"),
        row(f"{deliveries_figure} (each redelivery and each return from `*.wait` counts)", f"{_n(deliveries, 1)}",
            "", f"≤ {DELIVERIES_PER_APPLICATION}", _at_most(deliveries, DELIVERIES_PER_APPLICATION)),
        row("… by service", _top(c["deliveries_by_service"])),
        row("… of which events parked in `*.wait` / requeued, per application",
            f"{_n(c.get('parked_per_application'), 2)} / {_n(c.get('requeued_per_application'), 2)}"),
        row("… RPC requests taken from `rpc-<service>` per application (apart from the deliveries above)",
            f"{_n(c['rpc_deliveries_per_application'], 1)} ({_top(c['rpc_by_service'])})"),
    ]


def _scaleout_rows(s: dict | None, rabbit) -> list[str]:
    figure = "… 2 replicas"
    target = f"≥ {SCALEOUT_RATIO:g} × 1 replica"
    if not s:
        return [not_measured("screening drains a pre-loaded inbox: 2 replicas against 1", target)]
    one, two = s["one_replica_per_s"]["median"], s["two_replicas_per_s"]["median"]
    q = ratio(two, one)
    return [
        row(f"screening drains a pre-loaded inbox ({s['events']} events): 1 replica", f"{_n(one, 1)} events/s",
            f"{_n(ratio(one, rabbit), 3)} of raw RabbitMQ"),
        row(figure, f"{_n(two, 1)} events/s", f"{_n(q, 2)} × 1 replica", target, _at_least(q, SCALEOUT_RATIO)),
    ]


def _matches_rows(res: dict | None) -> list[str]:
    figure = f"`GET /v1/requisitions/{{id}}/matches` through the gateway, pool of {MATCHES_POOL:,}: p95 (p50)"
    target = f"≤ {MATCHES_P95_MS} ms"
    if not res:
        return [not_measured(figure, target)]
    lines = []
    sizes = res["sizes"]
    for size, v in sizes.items():
        lines.append(row(f"re-surfacing, pool of {int(size):,}: urgent requisition opened → matches readable, "
                         f"p95 (p50)", f"{_n(v['open_to_readable_p95_ms'])} ms ({_n(v['open_to_readable_p50_ms'])})"))
        at_target = int(size) == MATCHES_POOL
        lines.append(row(f"`GET /v1/requisitions/{{id}}/matches` through the gateway, pool of {int(size):,}: p95 (p50)",
                         f"{_n(v.get('get_matches_p95_ms'))} ms ({_n(v.get('get_matches_p50_ms'))})", "",
                         target if at_target else "", _at_most(v.get("get_matches_p95_ms"), MATCHES_P95_MS)
                         if at_target else ""))
    if str(MATCHES_POOL) not in {str(k) for k in sizes}:
        largest = max((int(k) for k in sizes), default=0)
        lines.append(not_measured(figure, target, f"not measured (this run's largest pool: {largest:,})"))
    return lines


def markdown(r: dict) -> str:
    m0, m1 = r["machine_at_start"], r["machine_at_end"]
    lines = [
        f"# hireloop benchmarks, {r['date']}{' (quick)' if r.get('quick') else ''}",
        "",
        f"Machine: {m0['cpus']} CPUs, load average (1/5/15 min) {m0['loadavg']} at the start and "
        f"{m1['loadavg']} at the end (shared: other work ran meanwhile); MongoDB: {r['platform']['mongo']}; "
        f"{r['platform']['screening_replicas']} screening replicas. Figures are medians of {r['runs']} run(s); "
        f"ratios are to the baselines of the same run. Whole run: {r['seconds']} s.",
        "",
        "| figure | value | ratio to baseline | target | met |",
        "|---|---|---|---|---|",
    ]
    b = r.get("baseline", {})
    rabbit = b.get("rabbit_msgs_per_s", {}).get("median")
    rpc = b.get("nameko_rpc_calls_per_s", {}).get("median")
    lines.append(f"| baseline: raw RabbitMQ publish+consume (aio-pika, persistent, confirms, quorum queue) | "
                 f"{_n(rabbit)} msg/s | 1 | | |")
    lines.append(f"| baseline: raw nameko RPC (trivial method, 50 in flight) | {_n(rpc)} calls/s | 1 | | |")
    lines += _read_rows(r.get("read"), rpc)
    lines += _intake_rows(r.get("intake"), rabbit)
    lines += _scaleout_rows(r.get("scaleout"), rabbit)
    lines += _matches_rows(r.get("resurfacing"))
    for x in r.get("index", []):
        lines.append(row(f"match index alone, pool of {x['size']:,}: ranking one requisition, p95 (p50)",
                         f"{_n(x['best_p95_ms'], 1)} ms ({_n(x['best_p50_ms'], 1)})"))
    idle, peak = r.get("rss_idle_mb", {}), r.get("rss_peak_under_load_mb", {})
    services = [k for k in idle if k not in ("smtp", "mongo (embedded)")]
    worst = max([peak.get(k, idle[k]) for k in services] or [0])
    lines.append(row("memory: largest RSS of a service or the gateway, under load", f"{_n(worst)} MB",
                     target=f"≤ {RSS_MB} MB", met=_met(worst <= RSS_MB)))
    big = [x for x in r.get("index", []) if x["size"] == 1_000_000]
    figure = "memory: talent_pool's process with the index of 1,000,000"
    lines.append(row(figure, f"{_n(big[0]['rss_after_mb'])} MB (index {_n(big[0]['index_mb'])} MB)",
                     target=f"≤ {RSS_MB} MB", met=_met(big[0]["rss_after_mb"] <= RSS_MB)) if big else
                 not_measured(figure, f"≤ {RSS_MB} MB", "not run (the full run's `index` measures 1,000,000)"))
    lines += ["", "RSS per process (MB), idle / peak under load:", "",
              "| process | idle | under load |", "|---|---|---|"]
    for k in idle:
        lines.append(f"| {k} | {_n(idle[k])} | {_n(peak.get(k))} |")
    cpu = r.get("cpu_cores_used") or {}
    if cpu:
        procs = sorted({p for share in cpu.values() for p in share})
        lines += ["", "CPU used per process while each figure was measured (its first run), in cores (1.00 = one "
                  f"whole core; the machine has {m0['cpus']}, shared with other work; the load generator's own "
                  "process is not listed):", "",
                  "| process | " + " | ".join(cpu) + " |", "|---|" + "---|" * len(cpu)]
        for p in procs:
            lines.append(f"| {p} | " + " | ".join(_n(cpu[name].get(p), 2) for name in cpu) + " |")
    if "resurfacing" in r or "index" in r:
        lines += ["", "How matching cost grows with the pool:", "",
                  "| pool | index: rank one requisition p50 / p95 | before (full scan, scoring only) p50 | index build "
                  "| RSS with index | through the API: opened → readable p50 / p95 | `GET matches` p50 / p95 |",
                  "|---|---|---|---|---|---|---|"]
        api = (r.get("resurfacing") or {}).get("sizes", {})
        idx = {str(x["size"]): x for x in r.get("index", [])}
        for size in sorted(set(api) | set(idx), key=int):
            a, x = api.get(size, {}), idx.get(size, {})
            rss = x.get("rss_after_mb") or a.get("talent_pool_rss_mb")
            lines.append(
                f"| {int(size):,} | {_n(x.get('best_p50_ms'), 1)} / {_n(x.get('best_p95_ms'), 1)} ms | "
                f"{_n(x.get('full_scan_p50_ms'))} ms | {_n(x.get('build_seconds'), 1)} s | {_n(rss)} MB | "
                f"{_n(a.get('open_to_readable_p50_ms'))} / {_n(a.get('open_to_readable_p95_ms'))} ms | "
                f"{_n(a.get('get_matches_p50_ms'))} / {_n(a.get('get_matches_p95_ms'))} ms |")
        xs = r.get("index", [])
        if len(xs) >= 2:
            k = growth_exponent([x["size"] for x in xs], [x["best_p50_ms"] for x in xs])
            lines += ["", f"Index ranking cost grows as size^{_n(k, 2)} (1 would be linear)."]
    return "\n".join(lines) + "\n"
