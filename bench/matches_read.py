"""GET /v1/requisitions/{id}/matches through the gateway on the bench platform (default 20,000 pooled): the
latency of 300 GETs in sequence and the CPU per GET of the gateway, talent_pool and the embedded Mongo, with
the idle background (timers, relays) over the same time taken off: CPU is less disturbed than latency by
other work on a shared machine (docs/decisions/005-stored-match-lists.md).

    PYTHONPATH=$PWD .venv/bin/python -m bench.matches_read [pool size]
"""
import sys
import time

import numpy as np

from bench import pool_gen
from bench.harness import BenchPlatform, cpu_seconds
from bench.scenarios import _wait_index
from bench.stats import percentile

SIZE, GETS = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, 300
bench = BenchPlatform({"SCALE_SCREENING": "1"})
try:
    bench.start()
    pool_gen.seed(bench.mongo_url(), bench.database("talent_pool"), SIZE, seed=SIZE)
    bench.restart("talent_pool-1", LOG_LEVEL="INFO")
    _wait_index(bench, "talent_pool-1", SIZE, timeout=300)
    rng = np.random.default_rng(7)
    hr, rec = bench.key("hr", ["retail"]), bench.key("recruiter", ["retail"])
    with bench.client(hr) as hr_c, bench.client(rec) as rec_c:
        ids = []
        for _ in range(5):
            rid = hr_c.post("/v1/requisitions", json=pool_gen.urgent_requisition(rng)).json()["id"]
            while rec_c.get(f"/v1/requisitions/{rid}/matches").status_code != 200:
                time.sleep(0.01)
            ids.append(rid)
        time.sleep(2)
        for rid in ids * 4:  # warm
            rec_c.get(f"/v1/requisitions/{rid}/matches").raise_for_status()
        pids = {k: v for k, v in bench.pids().items() if k in ("gateway", "talent_pool-1", "mongo (embedded)")}
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        lat, sizes = [], []
        for i in range(GETS):
            t0 = time.perf_counter()
            r = rec_c.get(f"/v1/requisitions/{ids[i % len(ids)]}/matches")
            lat.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            sizes.append(len(r.json()))
        wall = sum(lat) / 1000
        cpu_used = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
        idle0 = {k: cpu_seconds(p) for k, p in pids.items()}
        time.sleep(wall)  # the same time with no request: the background (timers, relays) to take off
        idle = {k: cpu_seconds(p) - idle0[k] for k, p in pids.items()}
        cpu = {k: round((cpu_used[k] - idle[k]) / GETS * 1000, 2) for k in pids}
        print("idle CPU ms per equivalent GET", {k: round(idle[k] / GETS * 1000, 2) for k in pids})
    print(f"pool {SIZE}: GET matches p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms over {GETS}; "
          f"matches/answer median {int(np.median(sizes))}; CPU ms per GET {cpu}")
finally:
    bench.stop()
