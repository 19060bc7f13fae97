"""`make run` without RabbitMQ or Redis: it stops at once with one sentence naming what is missing and how to
start it, prints no credentials, and leaves nothing running (no embedded Mongo, no SMTP capture)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.embedded_mongo import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HOW = ("`docker compose up -d rabbitmq redis`", "(Debian)", "`brew services start")


def processes_mentioning(text: str) -> list[int]:
    """Pids of processes whose command line or environment names `text` (the launcher's var dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob:
            found.append(int(entry.name))
    return found


def run_launcher(tmp_path: Path, **urls: str) -> tuple[subprocess.CompletedProcess, float, list[int]]:
    env = {**os.environ, **urls, "HIRELOOP_VAR_DIR": str(tmp_path / "var"), "GATEWAY_PORT": str(free_port())}
    for name in ("MONGO_URL", "SMTP_URL"):
        env.pop(name, None)  # the launcher would start the embedded Mongo and the SMTP capture
    started = time.monotonic()
    try:
        out = subprocess.run([sys.executable, "-m", "infra.run"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
    finally:
        elapsed = time.monotonic() - started
        left = processes_mentioning(str(tmp_path / "var"))
        for pid in left:  # the old launcher left them behind: do not leak them into the session
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return out, elapsed, left


def test_without_rabbitmq_it_stops_at_once_saying_how_to_start_it(test_infra, tmp_path):
    closed = free_port()
    out, elapsed, left = run_launcher(tmp_path, RABBIT_URL=f"amqp://hluser:s3cr3t-pw@127.0.0.1:{closed}/vh",
                                      REDIS_URL=test_infra.redis_url)
    print(out.stdout, out.stderr)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"hireloop: RabbitMQ at 127.0.0.1:{closed} (RABBIT_URL) is not reachable: start it")
    assert all(how in lines[0] for how in HOW) and "Redis" not in lines[0].split(":")[1]
    assert "s3cr3t-pw" not in out.stdout + out.stderr and "hluser" not in out.stdout + out.stderr
    assert "hireloop: starting" not in out.stdout
    assert elapsed < 20
    assert left == []


def test_without_redis_it_stops_at_once_saying_how_to_start_it(test_infra, tmp_path):
    closed = free_port()
    out, elapsed, left = run_launcher(tmp_path, RABBIT_URL=test_infra.rabbit_url,
                                      REDIS_URL=f"redis://:redis-pw@127.0.0.1:{closed}/0")
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"hireloop: Redis at 127.0.0.1:{closed} (REDIS_URL) is not reachable: start it")
    assert all(how in lines[0] for how in HOW) and "redis-pw" not in out.stdout + out.stderr
    assert elapsed < 20
    assert left == []


def test_without_both_it_names_both(tmp_path):
    rabbit, redis = free_port(), free_port()
    out, elapsed, left = run_launcher(tmp_path, RABBIT_URL=f"amqp://guest:guest@127.0.0.1:{rabbit}/",
                                      REDIS_URL=f"redis://127.0.0.1:{redis}/0")
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"hireloop: RabbitMQ at 127.0.0.1:{rabbit} (RABBIT_URL) and Redis at 127.0.0.1:{redis} (REDIS_URL) are not "
        "reachable: start them with `sudo rabbitmq-server -detached && sudo service redis-server start` (Debian), "
        "`brew services start rabbitmq` and `brew services start redis` (macOS) or "
        "`docker compose up -d rabbitmq redis`, or point RABBIT_URL / REDIS_URL at a running one.")
    assert elapsed < 20 and left == []
