"""The match index alone, in a process of its own: build time, memory and ranking cost at pool sizes the
embedded Mongo cannot be seeded to within a benchmark run (1 M). The process imports what the
talent_pool service imports, so its RSS before and after the load is the service's, idle and with the index.

`python -m bench.index_bench <size> <requisitions>` prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

import services.talent_pool.service  # noqa: F401 - the service's imports, for an honest RSS
from bench import pool_gen
from bench.stats import percentile, rss_mb
from services.talent_pool import domain
from services.talent_pool.pool_index import PoolIndex
from shared.timeutil import utcnow


def main(size: int, requisitions: int) -> dict:
    rss_before = rss_mb(os.getpid())
    t0 = time.perf_counter()
    index = PoolIndex()
    index.load(pool_gen.index_entries(size, seed=size))  # new_id is increasing: already in id order
    build = time.perf_counter() - t0
    rss_after = rss_mb(os.getpid())
    rss_peak = rss_mb(os.getpid(), "VmHWM")  # includes the generator's own chunks (~100 MB of draws)
    rng = np.random.default_rng(7)
    costs = []
    now = utcnow()
    scan = []
    if size <= 100_000:
        # Before the index: domain.find_matches over every entry (the scoring alone, without reading the
        # entries from Mongo, which cost more), for a few requisitions.
        everything = [{**e, "_id": e["candidate_id"], "reason": "declined", "pooled_at": now}
                      for e in pool_gen.index_entries(size, seed=size)]
        for _ in range(3):
            req = pool_gen.urgent_requisition(rng)
            t1 = time.perf_counter()
            domain.find_matches(req, everything, now)
            scan.append((time.perf_counter() - t1) * 1000)
        del everything
    for _ in range(requisitions):
        req = pool_gen.urgent_requisition(rng)
        t1 = time.perf_counter()
        best = index.best(req, now)
        costs.append((time.perf_counter() - t1) * 1000)
        assert best, "an urgent requisition found no one"
    rss_ranking = rss_mb(os.getpid())  # the ranking's temporaries come and go in the same heap
    return {"size": size, "build_seconds": round(build, 1), "rss_before_mb": round(rss_before, 1),
            "rss_after_mb": round(rss_after, 1), "rss_peak_mb": round(rss_peak, 1),
            "rss_after_ranking_mb": round(rss_ranking, 1),
            "index_mb": round(index.nbytes() / 2**20, 1), "best_p50_ms": percentile(costs, 50),
            "best_p95_ms": percentile(costs, 95), "requisitions": requisitions,
            "full_scan_p50_ms": percentile(scan, 50) if scan else None}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))), flush=True)
