"""`make bench` (`python -m bench`): every benchmark against baselines taken in the same run, on a
platform of its own; writes bench/results/<date>.json and .md and prints the table.

    python -m bench                      # everything (about 15 minutes)
    python -m bench --quick              # small sizes, one run each (BENCH_QUICK=1 does the same)
    python -m bench --only read,intake   # some of: baseline, read, intake, scaleout, resurfacing, index
    python -m bench --runs 5 --no-profile

The baselines always run: every figure is reported with its ratio to them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import report, scenarios
from bench.harness import BenchPlatform, RssSampler, machine
from shared.config import Settings

RESULTS = Path(__file__).resolve().parent / "results"
ALL = ["baseline", "read", "intake", "scaleout", "resurfacing", "index"]


def index_alone(sizes: list[int], requisitions: int) -> list[dict]:
    found = []
    for size in sizes:
        out = subprocess.run([sys.executable, "-m", "bench.index_bench", str(size), str(requisitions)],
                             capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise RuntimeError(f"index bench failed: {out.stderr[-2000:]}")
        found.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1")
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""))
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    only = [x.strip() for x in args.only.split(",") if x.strip()] or ALL
    unknown = set(only) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(ALL)}")
    runs = args.runs or (1 if args.quick else 3)
    scenarios.PROFILE = not args.no_profile
    started = time.time()
    results: dict = {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "started_at": datetime.now(UTC).isoformat(),
                     "quick": args.quick, "runs": runs, "machine_at_start": machine(),
                     "platform": {"screening_replicas": 2, "mongo": Settings.from_env().mongo_url and "MONGO_URL"
                                  or "embedded secantusdb"}}
    print(f"bench: {'quick' if args.quick else 'full'} run, {runs} run(s) per figure; machine {machine()}",
          flush=True)
    bench = BenchPlatform({"SCALE_SCREENING": "2"})
    try:
        bench.start()
        time.sleep(3)
        results["rss_idle_mb"] = bench.rss()
        with RssSampler(bench) as sampler:
            steps = [("baseline", scenarios.run_baseline), ("read", scenarios.run_gateway_read),
                     ("intake", scenarios.run_intake), ("scaleout", scenarios.run_scaleout)]
            for name, fn in steps:
                if name == "baseline" or name in only:
                    waited = bench.settle()
                    t0 = time.time()
                    print(f"bench: {name} ... (after {waited:.0f} s for the previous work to drain)", flush=True)
                    results[name] = fn(bench, runs, args.quick)
                    results[name]["seconds"] = round(time.time() - t0)
        results["rss_peak_under_load_mb"] = sampler.peak
        if "resurfacing" in only:
            bench.settle()
            print("bench: resurfacing ...", flush=True)
            t0 = time.time()
            results["resurfacing"] = scenarios.run_resurfacing(bench, runs, args.quick)
            results["resurfacing"]["seconds"] = round(time.time() - t0)
    finally:
        bench.stop()
    if "index" in only:
        print("bench: index alone ...", flush=True)
        sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
        results["index"] = index_alone(sizes, 20 if args.quick else 50)
    results["profiles"] = scenarios.PROFILES
    results["cpu_cores_used"] = scenarios.CPU
    results["machine_at_end"] = machine()
    results["seconds"] = round(time.time() - started)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = results["date"] + ("-quick" if args.quick else "")
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    table = report.markdown(results)
    (out / f"{stem}.md").write_text(table)
    print(table)
    print(f"bench: wrote {out / (stem + '.json')} and .md in {results['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
