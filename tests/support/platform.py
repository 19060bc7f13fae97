"""Start the whole platform the way `make run` does (`python -m infra.run`), against the test session's
isolated infrastructure, and give tests an HTTP client and the captured mail."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra.embedded_mongo import free_port
from tests.support.divisions import fixed_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningPlatform:
    base_url: str
    admin_key: str
    var_dir: Path
    proc: subprocess.Popen
    env: dict

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def mail(self) -> list[dict]:
        index = self.var_dir / "mail" / "index.jsonl"
        if not index.exists():
            return []
        return [json.loads(line) for line in index.read_text().splitlines() if line.strip()]

    def mail_body(self, entry: dict) -> str:
        from email import message_from_bytes, policy

        path = Path(entry["file"])
        if not path.is_absolute():
            path = self.var_dir / "mail" / path
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        part = msg.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else msg.get_payload(decode=True).decode()

    def log(self, name: str) -> str:
        path = self.var_dir / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def platform_env(infra, tmp_dir: Path, port: int, admin_key: str, extra_env: dict | None = None) -> dict:
    """The environment of a platform on the session's isolated infrastructure (also used by bench/)."""
    env = {
        **os.environ,
        **infra.env(),
        "GATEWAY_PORT": str(port),
        "HIRELOOP_VAR_DIR": str(tmp_dir),
        "HIRELOOP_ADMIN_KEY": admin_key,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "RPC_TIMEOUT": "8",
        "LOG_LEVEL": "INFO",
        **fixed_env(),  # the suites' fixed division names, registered at start-up (HIRELOOP_DIVISIONS)
        **(extra_env or {}),
    }
    env.pop("SMTP_URL", None)  # the launcher's own capture server, so tests can read the mail
    return env


def start_platform(infra, tmp_dir: Path, extra_env: dict | None = None, timeout: float = 120) -> RunningPlatform:
    port = free_port()
    admin_key = "hl_test_" + secrets.token_urlsafe(16)
    env = platform_env(infra, tmp_dir, port, admin_key, extra_env)
    out = open(tmp_dir / "launcher.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "infra.run"], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("platform exited:\n" + (tmp_dir / "launcher.log").read_text()[-3000:])
        if "hireloop: ready" in (tmp_dir / "launcher.log").read_text(errors="replace"):
            return RunningPlatform(base, admin_key, tmp_dir, proc, env)
        time.sleep(0.5)
    stop_platform(proc)
    raise RuntimeError("platform not ready:\n" + (tmp_dir / "launcher.log").read_text()[-3000:])


def stop_platform(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
