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
    if "read" in r:
        g = r["read"]
        rps = g["max_rps"]["median"]
        q = ratio(rps, rpc)
        lines += [
            f"| gateway `GET /v1/applications/{{id}}`, 32 clients: max | {_n(rps)} req/s | {_n(q, 2)} of nameko RPC "
            f"| ≥ 0.60 | {_met(q >= 0.6 if not math.isnan(q) else None)} |",
            f"| … latency at max: p50 / p99 | {_n(g['p50_ms']['median'], 1)} / {_n(g['p99_ms']['median'], 1)} ms "
            f"| | | |",
            f"| … p99 at half the max ({_n(g['half_rate'])} req/s, open loop) | "
            f"{_n(g['half_rate_p99_ms']['median'], 1)} ms (p50 {_n(g['half_rate_p50_ms']['median'], 1)}) | | "
            f"≤ 50 ms | {_met(g['half_rate_p99_ms']['median'] <= 50)} |",
        ]
        if sampled := g.get("sampled"):
            srps = sampled["max_rps"]["median"]
            sq = ratio(srps, rpc)
            lines += [
                f"| … the same with 1 trace in {round(1 / sampled['ratio'])} kept (`OTEL_TRACES_SAMPLER_ARG="
                f"{sampled['ratio']:g}`): max | {_n(srps)} req/s | {_n(sq, 2)} of nameko RPC | ≥ 0.60 | "
                f"{_met(sq >= 0.6 if not math.isnan(sq) else None)} |",
                f"| … … p99 at half that max ({_n(sampled['half_rate'])} req/s, open loop) | "
                f"{_n(sampled['half_rate_p99_ms']['median'], 1)} ms | | ≤ 50 ms | "
                f"{_met(sampled['half_rate_p99_ms']['median'] <= 50)} |",
            ]
    if "intake" in r:
        i = r["intake"]
        e2e = i["max_end_to_end_per_s"]["median"]
        lines += [
            f"| intake: `POST /v1/applications` until screened, sustained (16 clients) | {_n(e2e, 1)} applications/s "
            f"(accepted {_n(i['max_accepted_per_s']['median'], 1)}/s) | {_n(ratio(e2e, rabbit), 3)} of raw RabbitMQ "
            f"| ≥ 100/s | {_met(e2e >= 100)} |",
            f"| … at 50/s offered: p95 submit → screened | {_n(i['at_50_p95_ms']['median'])} ms (p50 "
            f"{_n(i['at_50_p50_ms']['median'])}, done {_n(i['at_50_end_to_end_per_s']['median'], 1)}/s) | | ≤ 2,000 ms "
            f"| {_met(i['at_50_p95_ms']['median'] <= 2000)} |",
        ]
    if "scaleout" in r:
        s = r["scaleout"]
        one, two = s["one_replica_per_s"]["median"], s["two_replicas_per_s"]["median"]
        lines += [
            f"| screening drains a pre-loaded inbox ({s['events']} events): 1 replica | {_n(one, 1)} events/s | "
            f"{_n(ratio(one, rabbit), 3)} of raw RabbitMQ | | |",
            f"| … 2 replicas | {_n(two, 1)} events/s | {_n(ratio(two, one), 2)} × 1 replica | > 1 (2-core ceiling) | "
            f"{_met(two > one)} |",
        ]
    if "resurfacing" in r:
        for size, v in r["resurfacing"]["sizes"].items():
            target = 50 if int(size) == 100_000 else 200 if int(size) == 1_000_000 else None
            lines.append(
                f"| re-surfacing, pool of {int(size):,}: urgent requisition opened → matches readable, p95 (p50) | "
                f"{_n(v['open_to_readable_p95_ms'])} ms ({_n(v['open_to_readable_p50_ms'])}) | | "
                f"{f'≤ {target} ms' if target else ''} | "
                f"{_met(v['open_to_readable_p95_ms'] <= target) if target else ''} |")
    for x in r.get("index", []):
        target = 50 if x["size"] == 100_000 else 200 if x["size"] == 1_000_000 else None
        lines.append(f"| match index alone, pool of {x['size']:,}: ranking one requisition, p95 (p50) | "
                     f"{_n(x['best_p95_ms'], 1)} ms ({_n(x['best_p50_ms'], 1)}) | | "
                     f"{f'≤ {target} ms' if target else ''} | "
                     f"{_met(x['best_p95_ms'] <= target) if target else ''} |")
    idle, peak = r.get("rss_idle_mb", {}), r.get("rss_peak_under_load_mb", {})
    services = [k for k in idle if k not in ("smtp", "mongo (embedded)")]
    worst = max([peak.get(k, idle[k]) for k in services] or [0])
    lines.append(f"| memory: largest RSS of a service or the gateway, under load | {_n(worst)} MB | | ≤ 150 MB | "
                 f"{_met(worst <= 150)} |")
    big = [x for x in r.get("index", []) if x["size"] == 1_000_000]
    if big:
        lines.append(f"| memory: talent_pool's process with the index of 1,000,000 | {_n(big[0]['rss_after_mb'])} MB "
                     f"(index {_n(big[0]['index_mb'])} MB) | | ≤ 150 MB | {_met(big[0]['rss_after_mb'] <= 150)} |")
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
