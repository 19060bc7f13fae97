"""The platform a benchmark run measures: its own isolated infrastructure (a RabbitMQ vhost, database
names and Redis prefix, the embedded Mongo default) from tests/support/infra.py, and the platform
started in this process by infra/run.py's `Platform`, the launcher `make run` uses, so a benchmark can
pause, stop and restart single processes (scale-out, re-surfacing after seeding) and read their RSS.
"""

from __future__ import annotations

import os
import secrets
import signal
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.stats import rss_mb
from infra.embedded_mongo import free_port
from infra.run import Platform
from tests.support.infra import start_test_infra
from tests.support.platform import platform_env

# A benchmark client is one API key sending thousands of requests a second: the default per-key limit
# (20/s) would measure the limiter. The limiter still runs (one Redis round trip per request).
BENCH_ENV = {"RATE_LIMIT_KEY": "1000000/1000000", "RATE_LIMIT_DIVISION": "1000000/1000000",
             "LOG_LEVEL": "WARNING"}


def machine() -> dict:
    """What a reader needs to judge the noise: CPUs, load averages, memory."""
    one, five, fifteen = os.getloadavg()
    mem = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, value = line.split(":", 1)
        if key in ("MemTotal", "MemAvailable"):
            mem[key] = int(value.split()[0]) // 1024
    return {"cpus": os.cpu_count(), "loadavg": [round(one, 2), round(five, 2), round(fifteen, 2)],
            "mem_total_mb": mem.get("MemTotal"), "mem_available_mb": mem.get("MemAvailable")}


class BenchPlatform:
    def __init__(self, extra_env: dict | None = None):
        self.extra_env = {**BENCH_ENV, **(extra_env or {})}
        self.infra = None
        self.platform: Platform | None = None
        self.base_url = ""
        self.admin_key = "hl_bench_" + secrets.token_urlsafe(16)
        self.tmp = Path(tempfile.mkdtemp(prefix="hireloop-bench-"))

    def start(self) -> BenchPlatform:
        self.infra = start_test_infra()
        port = free_port()
        env = platform_env(self.infra, self.tmp, port, self.admin_key, self.extra_env)
        self.platform = Platform(self.tmp, env)
        self.platform.start()
        self.platform.wait_ready(timeout=180)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self.platform is not None:
            self.platform.stop()
        if self.infra is not None:
            self.infra.close()

    # -- processes -----------------------------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        """Every platform process by label (gateway, sourcing-1, screening-2, smtp, ...) and the embedded
        Mongo server of the infrastructure."""
        found = {label: p.pid for label, p in self.platform.procs if p.poll() is None}
        for fn in self.infra.cleanups:  # the embedded Mongo, if the infrastructure started one
            owner = getattr(fn, "__self__", None)
            proc = getattr(owner, "proc", None)
            if proc is not None and proc.poll() is None:
                found["mongo (embedded)"] = proc.pid
        return found

    def pause(self, label: str) -> None:
        os.kill(self.platform.process(label).pid, signal.SIGSTOP)

    def resume(self, label: str) -> None:
        os.kill(self.platform.process(label).pid, signal.SIGCONT)

    def restart(self, label: str, **env: str) -> None:
        """Stops one process and starts it again (with `env` added to its environment)."""
        self.platform.stop_process(label)
        self.platform.envs[label] = {**self.platform.envs[label], **env}
        self.platform.start_process(label)

    def settle(self, timeout: float = 180) -> float:
        """Waits until every service inbox is empty (work left by the previous benchmark would load the
        next one's machine); returns the seconds waited."""
        import asyncio

        from shared.bus.aio_rpc import AsyncRpcClient
        from shared.bus.topology import inbox_queue
        from shared.contracts.common import SERVICES

        async def depths() -> int:
            client = AsyncRpcClient(self.infra.rabbit_url, name="bench-settle")
            await client.connect()
            try:
                found = await client.queue_depths([inbox_queue(s) for s in SERVICES])
                return sum(ready for ready, _ in found.values())
            finally:
                await client.close()

        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout and asyncio.run(depths()) > 0:
            time.sleep(1)
        time.sleep(2)  # the last prefetched messages
        return time.monotonic() - t0

    def rss(self) -> dict[str, float]:
        return {label: round(v, 1) for label, pid in self.pids().items() if (v := rss_mb(pid)) is not None}

    def mongo_url(self) -> str:
        return self.infra.mongo_url

    def database(self, service: str) -> str:
        return f"{self.infra.namespace}_{service}"

    # -- API -----------------------------------------------------------------------------------------
    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {key or self.admin_key}"},
                            timeout=30)

    def key(self, role: str, divisions: list[str] | None = None) -> str:
        with self.client() as c:
            r = c.post("/v1/api-keys", json={"name": f"bench-{role}-{secrets.token_hex(3)}", "role": role,
                                             "divisions": divisions or []})
            r.raise_for_status()
            return r.json()["key"]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (children not included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """How much of one core each platform process used during the block (1.0 = a whole core): where the
    time of a benchmark went, and which process is the ceiling."""

    def __init__(self, bench: BenchPlatform):
        self.bench = bench
        self.share: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self.pids = self.bench.pids()
        self.start = {label: cpu_seconds(pid) for label, pid in self.pids.items()}
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.monotonic() - self.t0
        for label, pid in self.pids.items():
            end, start = cpu_seconds(pid), self.start.get(label)
            if end is not None and start is not None and wall > 0:
                self.share[label] = round((end - start) / wall, 2)


class RssSampler:
    """Samples every platform process's RSS in the background; `peak` is the highest seen per process."""

    def __init__(self, bench: BenchPlatform, every: float = 0.5):
        self.bench, self.every = bench, every
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for label, value in self.bench.rss().items():
                self.peak[label] = max(self.peak.get(label, 0.0), value)
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

