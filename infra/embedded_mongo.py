"""The embedded MongoDB default: a `secantusdb` server process, started when no MONGO_URL is given.

secantusdb is GPL-2.0 and runs as a separate server process for development and tests only; the
product talks to it over the MongoDB wire protocol like to any mongod, and is never linked to it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedMongo:
    def __init__(self, data_dir: str | Path | None = None, port: int | None = None, log_path: str | None = None):
        self.data_dir = str(data_dir) if data_dir else ":memory:"
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        # No retryable writes: secantusdb keeps a record of every write made outside a transaction and scans
        # them all on each write, so each write costs more than the last (bench/embedded_writes.py measures it).
        # A local server has no failover for a retry to ride out.
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def start(self, timeout: float = 30) -> str:
        exe = shutil.which("secantusd-py", path=os.path.dirname(sys.executable)) or shutil.which("secantusd-py")
        if exe is None:
            raise RuntimeError("secantusd-py not found: install the project (`make install`) or set MONGO_URL")
        if self.data_dir != ":memory:":
            Path(self.data_dir).mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [exe, "--host", "127.0.0.1", "--port", str(self.port), "--storage-path", self.data_dir,
             "--log-level", "WARNING"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_ready(timeout)
        return self.url

    def _wait_ready(self, timeout: float) -> None:
        from pymongo import MongoClient

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"secantusd exited with code {self.proc.returncode}")
            try:
                with MongoClient(self.url, serverSelectionTimeoutMS=500) as c:
                    c.admin.command("ping")
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        raise RuntimeError("secantusd did not become ready in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


if __name__ == "__main__":  # `python -m infra.embedded_mongo [data_dir]`: run one in the foreground
    from shared.config import Settings

    m = EmbeddedMongo(sys.argv[1] if len(sys.argv) > 1 else None, port=Settings.from_env().embedded_mongo_port or None)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: (m.stop(), sys.exit(0)))
    print(m.start(), flush=True)
    try:
        m.proc.wait()
    except KeyboardInterrupt:
        m.stop()
