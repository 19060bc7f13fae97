"""Where the gateway read's time goes: `GET /v1/applications/{id}` (32 clients, closed loop) on one platform
whose processes are restarted between steps with tracing and gateway workers changed, so the steps differ
in one setting each and share the same machine minutes. Not part of `make bench` (it is an investigation,
not a figure with a target):

    .venv/bin/python -m bench.read_attribution            # prints one line per step, JSON at the end

Steps: every process traced (the default); the gateway keeping 1 trace in 10 (every other process follows
its decision); the gateway untraced; the gateway and sourcing untraced; 2 gateway workers, traced.
Each step: a 2 s warm-up, then 3 runs of 5 s; req/s per run and the CPU each process used in the last
(with 2 workers the gateway's CPU is in uvicorn's worker processes, which are not listed).
"""

from __future__ import annotations

import json

from bench.harness import BenchPlatform, CpuMeter
from bench.scenarios import read_spec
from bench.stats import median
from bench.workload import run_loadgen

STEPS = [
    ("every process traced", {}),
    ("gateway keeps 1 trace in 10", {"gateway": {"OTEL_TRACES_SAMPLER_ARG": "0.1"}}),
    ("gateway untraced", {"gateway": {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_SAMPLER_ARG": "1"}}),
    ("gateway and sourcing untraced", {"sourcing-1": {"OTEL_SDK_DISABLED": "true"}}),
    ("2 gateway workers, every process traced", {"gateway": {"OTEL_SDK_DISABLED": "false", "GATEWAY_WORKERS": "2"},
                                                 "sourcing-1": {"OTEL_SDK_DISABLED": "false"}}),
]


def main() -> None:
    bench = BenchPlatform({"SCALE_SCREENING": "1"})
    bench.start()
    found = []
    try:
        spec = read_spec(bench)
        bench.settle()
        for label, restarts in STEPS:
            for process, env in restarts.items():
                bench.restart(process, **env)
            if restarts:
                bench.platform.wait_ready(timeout=60)  # /readyz: the gateway up and every service answering
            run_loadgen({**spec, "duration": 2})
            runs = []
            for _ in range(3):
                with CpuMeter(bench) as cpu:
                    out = run_loadgen({**spec, "duration": 5})
                runs.append(round(out["ok"] / out["elapsed"], 1))
            step = {"step": label, "rps": runs, "median_rps": median(runs),
                    "cpu_cores": {k: v for k, v in cpu.share.items() if v >= 0.05}}
            found.append(step)
            print(f"{label}: {median(runs):.0f} req/s (runs {runs}); cores {step['cpu_cores']}", flush=True)
    finally:
        bench.stop()
    print(json.dumps(found))


if __name__ == "__main__":
    main()
