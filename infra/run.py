"""`make run`: start the whole platform on this machine and stop it all on Ctrl-C / SIGTERM.

Starts, in order: the embedded MongoDB default (when MONGO_URL is unset), the local SMTP capture
(when SMTP_URL is unset), the RabbitMQ topology, the five services (SCALE_<SERVICE>=N replicas each,
e.g. SCALE_SCREENING=2) and the gateway on GATEWAY_PORT. It waits for /readyz and prints where things
are. Logs go to var/log/<process>.log; mail to var/mail/. Event-signing keys are made once in var/keys/
(infra/event_keys.py): each service is given only its own private key, every process all public keys.

Before starting anything it checks that RabbitMQ (RABBIT_URL) and Redis (REDIS_URL) answer, and stops at once
with a sentence saying how to start them when they do not. Once ready, a process that exits is started again
(Supervisor below): after 1 s, doubling up to 30 s while it keeps failing, back to 1 s once it has stayed up a
minute; each restart is one line on the launcher's output. The pid of every process is in var/pids.json.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from infra.embedded_mongo import EmbeddedMongo, free_port
from infra.event_keys import ensure_dev_keys
from shared import event_signing
from shared.bus import topology
from shared.config import Settings
from shared.contracts.common import SERVICES

GRACE_SECONDS = 25
RESTART_FIRST_DELAY = 1.0  # seconds before a process that exited is started again
RESTART_MAX_DELAY = 30.0  # the delay doubles while the process keeps exiting, up to this
RESTART_STABLE_AFTER = 60.0  # a process up this long is healthy again: its next exit restarts after 1 s
REACH_TIMEOUT = 3.0  # seconds to wait for RabbitMQ / Redis to accept a connection before giving up

HOW_TO_START = ("start {them} with `sudo {debian}` (Debian), `brew services start {brew}` (macOS) or "
                "`docker compose up -d rabbitmq redis`")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Platform:
    def __init__(self, var_dir: Path, env: dict[str, str]):
        self.var = var_dir
        self.env = env
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.commands: dict[str, list[str]] = {}
        self.envs: dict[str, dict[str, str]] = {}
        self.metrics_ports: dict[str, int] = {}
        self.mongo: EmbeddedMongo | None = None
        (self.var / "log").mkdir(parents=True, exist_ok=True)

    def _spawn(self, label: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.var / "log" / f"{label}.log", "ab")  # noqa: SIM115 - closed with the process
        env = env if env is not None else self.envs.get(label, self.env)
        proc = subprocess.Popen([sys.executable, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.envs[label] = env
        self.procs = [(name, p) for name, p in self.procs if name != label] + [(label, proc)]
        self.commands[label] = args
        self._write_pids()
        return proc

    def _write_pids(self) -> None:
        """var/pids.json: {process label: pid} of the running platform (rewritten at each start, removed at stop)."""
        (self.var / "pids.json").write_text(json.dumps({label: p.pid for label, p in self.procs}, indent=2))

    def process(self, label: str) -> subprocess.Popen:
        return dict(self.procs)[label]

    def stop_process(self, label: str, sig: int = signal.SIGTERM, timeout: float = GRACE_SECONDS) -> int:
        """Stop one process (SIGTERM: gracefully; SIGKILL: a crash) and return its exit code."""
        proc = self.process(label)
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def start_process(self, label: str) -> subprocess.Popen:
        """Start a stopped process again, with the command it was first started with."""
        if self.process(label).poll() is None:
            raise RuntimeError(f"{label} is still running")
        return self._spawn(label, self.commands[label])

    def start(self) -> None:
        env = self.env
        settings = Settings.from_env(env)  # typed values and their defaults; `env` is what children get
        env.setdefault("GATEWAY_PORT", str(settings.gateway_port))
        env.setdefault("PUBLIC_URL", f"http://localhost:{env['GATEWAY_PORT']}")
        if not env.get("MONGO_URL"):
            self.mongo = EmbeddedMongo(self.var / "mongo", log_path=str(self.var / "log" / "mongo.log"))
            env["MONGO_URL"] = self.mongo.start()
            print(f"  mongo     embedded secantusdb at {env['MONGO_URL']} (data in {self.var / 'mongo'})")
        if not env.get("SMTP_URL"):
            port = 1025 if _port_free(1025) else free_port()
            mail_dir = self.var / "mail"
            self._spawn("smtp", ["-m", "infra.smtp_capture", "--host", "127.0.0.1", "--port", str(port),
                                 "--dir", str(mail_dir)])
            env["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
            env["HIRELOOP_MAIL_DIR"] = str(mail_dir)
            print(f"  mail      captured by a local SMTP server on port {port}: read {mail_dir}/ "
                  f"(index.jsonl lists every message; `make mail` prints the latest)")
        if not env.get("HIRELOOP_ADMIN_KEY"):
            key_file = self.var / "admin-key"
            if not key_file.exists():
                key_file.write_text("hl_" + secrets.token_urlsafe(32))
                key_file.chmod(0o600)
            env["HIRELOOP_ADMIN_KEY"] = key_file.read_text().strip()
        if not env.get("OTEL_EXPORTER_OTLP_ENDPOINT") and not env.get("HIRELOOP_TRACES_FILE"):
            env["HIRELOOP_TRACES_FILE"] = str(self.var / "traces.jsonl")
        if env.get("HIRELOOP_TRACES_FILE"):
            _rotate(Path(env["HIRELOOP_TRACES_FILE"]))
            print(f"  traces    {env['HIRELOOP_TRACES_FILE']} (`make traces` prints the latest as trees)")
        # No process inherits a private key from the launcher's environment; services get theirs below.
        env.pop(event_signing.SIGNING_KEY_VAR, None)
        keys = ensure_dev_keys(self.var / "keys", SERVICES)
        env.update(keys.env_for(None))
        print(f"  keys      event-signing keys in {self.var / 'keys'}/ (each service gets only its own)")
        topology.declare(settings.rabbit_url)
        for service in SERVICES:
            for n in range(settings.scale[service]):
                label = f"{service}-{n + 1}"
                # Each process serves its own /metrics; ports from METRICS_BASE_PORT (default 9101) up.
                port = self._metrics_port(settings.metrics_base_port + len(self.metrics_ports))
                self.metrics_ports[label] = port
                self._spawn(label, ["-m", f"services.{service}"],
                            {**env, **keys.env_for(service), "METRICS_PORT": str(port)})
        self._spawn("gateway", ["-m", "gateway"])
        self._write_scrape_targets()

    @staticmethod
    def _metrics_port(preferred: int) -> int:
        return preferred if _port_free(preferred) else free_port()

    def _write_scrape_targets(self) -> None:
        """var/metrics-targets.json: Prometheus file_sd targets of this platform (gateway and services)."""
        targets = [{"targets": [f"127.0.0.1:{self.env['GATEWAY_PORT']}"], "labels": {"job": "gateway"}}] + [
            {"targets": [f"127.0.0.1:{port}"], "labels": {"job": "services", "process": label}}
            for label, port in self.metrics_ports.items()]
        (self.var / "metrics-targets.json").write_text(json.dumps(targets, indent=2))

    def wait_ready(self, timeout: float = 90) -> dict:
        url = f"http://127.0.0.1:{self.env['GATEWAY_PORT']}/readyz"
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            for label, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{label} exited with code {proc.returncode}; see {self.var}/log/{label}.log")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError as e:
                last = e.read().decode()[:300]
            except OSError as e:
                last = str(e)
            time.sleep(0.5)
        raise RuntimeError(f"platform not ready after {timeout:g}s: {last}")

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for _, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.mongo:
            self.mongo.stop()
        (self.var / "pids.json").unlink(missing_ok=True)


class Supervisor:
    """Starts again any process of a running platform that exited, with backoff, and says so in one line.

    `check()` is called every half second by the launcher's loop; `stopping()` is asked right before each
    restart, so nothing is started once Ctrl-C / SIGTERM arrived. `clock` and `say` are injectable."""

    def __init__(self, platform: Platform, stopping: Callable[[], bool], say: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic):
        self.platform = platform
        self.stopping = stopping
        self.say = say
        self.clock = clock
        now = clock()
        self.started_at = {label: now for label, _ in platform.procs}
        self.next_delay: dict[str, float] = {}
        self.due: dict[str, float] = {}  # label -> when it is started again

    def check(self) -> None:
        now = self.clock()
        for label, proc in list(self.platform.procs):
            if label in self.due:
                continue
            up_for = now - self.started_at.get(label, now)
            if proc.poll() is None:
                if up_for >= RESTART_STABLE_AFTER:
                    self.next_delay.pop(label, None)
                continue
            delay = RESTART_FIRST_DELAY if up_for >= RESTART_STABLE_AFTER else self.next_delay.get(
                label, RESTART_FIRST_DELAY)
            self.next_delay[label] = min(delay * 2, RESTART_MAX_DELAY)
            self.due[label] = now + delay
            self.say(f"hireloop: {label} exited with code {proc.returncode}{_signal_name(proc.returncode)}; "
                     f"restarting it in {delay:g} s (log: {self.platform.var / 'log' / label}.log)")
        for label, when in sorted(self.due.items(), key=lambda item: item[1]):
            if when > now:
                continue
            if self.stopping():
                return
            del self.due[label]
            self.platform.start_process(label)
            self.started_at[label] = self.clock()


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return ""
    try:
        return f" ({signal.Signals(-code).name})"
    except ValueError:
        return ""


def _endpoint(url: str, default_port: int) -> tuple[str, int | str]:
    """(host, port) of a broker or Redis URL, or ("unix", path) for a unix socket; never the credentials."""
    parts = urlsplit(url.split(";")[0].strip())
    if parts.scheme == "unix":
        return "unix", parts.path
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _reachable(endpoint: tuple[str, int | str], timeout: float = REACH_TIMEOUT) -> bool:
    host, port = endpoint
    try:
        if host == "unix":
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(timeout)
                s.connect(str(port))
        else:
            socket.create_connection((host, int(port)), timeout=timeout).close()
        return True
    except OSError:
        return False


def missing_infrastructure(settings: Settings) -> str | None:
    """None when RabbitMQ and Redis accept connections; else one sentence naming what is missing, where it was
    looked for (host and port only) and how to start it."""
    rabbit, redis = settings.rabbit_url, settings.redis_url
    checks = [("RabbitMQ", "RABBIT_URL", _endpoint(rabbit, 5671 if rabbit.startswith("amqps") else 5672),
               "rabbitmq-server -detached", "rabbitmq"),
              ("Redis", "REDIS_URL", _endpoint(redis, 6379), "service redis-server start", "redis")]
    missing = [check for check in checks if not _reachable(check[2])]
    if not missing:
        return None
    where = " and ".join(f"{name} at {_where(endpoint)} ({var})" for name, var, endpoint, _, _ in missing)
    verb = "is" if len(missing) == 1 else "are"
    how = HOW_TO_START.format(them="it" if len(missing) == 1 else "them",
                              debian=" && sudo ".join(m[3] for m in missing),
                              brew="` and `brew services start ".join(m[4] for m in missing))
    return f"{where} {verb} not reachable: {how}, or point {' / '.join(m[1] for m in missing)} at a running one."


def _where(endpoint: tuple[str, int | str]) -> str:
    host, port = endpoint
    if host == "unix":
        return f"unix socket {port}"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _rotate(path: Path, max_bytes: int = 200 * 1024 * 1024) -> None:
    """Keep the local span file bounded across runs: past `max_bytes`, the old one becomes `.1`."""
    if path.exists() and path.stat().st_size > max_bytes:
        path.replace(path.with_suffix(path.suffix + ".1"))


def main() -> int:
    # The launcher's environment is what it hands to the processes it starts (with what it adds), so it is
    # copied whole here; its own settings are read from that copy.
    env = dict(os.environ)
    try:
        settings = Settings.from_env(env)
    except ValueError as exc:  # e.g. RATE_LIMIT_KEY=fast: one sentence naming the variable, nothing started
        print(f"hireloop: bad configuration: {exc}", file=sys.stderr, flush=True)
        return 1
    var = Path(settings.var_dir).resolve()
    platform = Platform(var, env)
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    missing = missing_infrastructure(settings)
    if missing:
        print(f"hireloop: {missing}", file=sys.stderr, flush=True)
        return 1
    print("hireloop: starting")
    try:
        platform.start()
        platform.wait_ready()
        port = platform.env["GATEWAY_PORT"]
        print(f"  gateway   http://localhost:{port}  (API docs: /docs, readiness: /readyz)")
        print(f"  console   http://localhost:{port}/console  (sign in with an API key, e.g. the admin key below)")
        print(f"  admin key {platform.env['HIRELOOP_ADMIN_KEY']}  (stored in {var / 'admin-key'} unless you set "
              f"HIRELOOP_ADMIN_KEY)")
        print(f"  logs      {var / 'log'}/")
        print(f"  metrics   http://localhost:{port}/metrics (gateway, queue depths); services: "
              + ", ".join(f"{label} :{p}" for label, p in platform.metrics_ports.items()))
        print("hireloop: ready. Ctrl-C stops everything; a process that exits is started again.", flush=True)
        supervisor = Supervisor(platform, lambda: stopping, say=lambda line: print(line, flush=True))
        while not stopping:
            supervisor.check()
            time.sleep(0.5)
    except Exception as exc:  # noqa: BLE001 - whatever failed at start, stop what was started, say why once
        print(f"hireloop: {exc if isinstance(exc, RuntimeError) else f'{type(exc).__name__}: {exc}'}",
              file=sys.stderr, flush=True)
        platform.stop()
        return 1
    print("hireloop: stopping", flush=True)
    platform.stop()
    print("hireloop: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
