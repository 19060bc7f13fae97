"""An HTTP load generator that runs in its own process (so its CPU is not the gateway's event loop), on
a minimal asyncio HTTP/1.1 keep-alive client: much cheaper per request than a full client, which
matters when the load generator shares 2 cores with what it measures.

`python -m bench.loadgen < spec.json` prints one JSON line: {"ok", "errors", "statuses", "elapsed",
"latencies_ms", "records"}. Spec: {"url", "key", "paths": [...], "concurrency"} plus either {"duration"} (closed
loop: each client sends its next request when the previous answers) or {"rate", "duration"} (open
loop: request i is due at start + i/rate whatever happened before, and its latency counts from when it
was due, so a stall shows up as latency instead of as fewer requests).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from urllib.parse import urlsplit


class Connection:
    def __init__(self, host: str, port: int, key: str):
        self.host, self.port, self.key = host, port, key
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.key}\r\n"
                f"Content-Length: {len(body)}\r\n"
                + ("Content-Type: application/json\r\n" if body else "") + "\r\n").encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        data = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run(spec: dict) -> dict:
    parts = urlsplit(spec["url"])
    conns = [Connection(parts.hostname, parts.port, spec["key"]) for _ in range(spec["concurrency"])]
    paths = itertools.cycle(spec["paths"])
    method = spec.get("method", "GET")
    bodies = itertools.cycle([json.dumps(b).encode() for b in spec.get("bodies", [])] or [b""])
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    duration = spec["duration"]

    records: list = []  # with "record_ids": (wall-clock time the request was due, the answer's id)
    record = spec.get("record_ids", False)
    wall_offset = time.time() - time.perf_counter()

    async def one(conn: Connection, due: float) -> None:
        nonlocal errors
        try:
            status, data = await conn.request(method, next(paths), next(bodies))
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if 200 <= status < 300:
                latencies.append((time.perf_counter() - due) * 1000)
                if record:
                    records.append((due + wall_offset, json.loads(data)["id"]))
            else:
                errors += 1
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            conn.close()
            errors += 1

    start = time.perf_counter()
    end = start + duration
    if "rate" not in spec:
        async def client(conn: Connection) -> None:
            while (now := time.perf_counter()) < end:
                await one(conn, now)

        await asyncio.gather(*(client(c) for c in conns))
    else:
        idle: asyncio.Queue = asyncio.Queue()
        for c in conns:
            idle.put_nowait(c)
        interval = 1 / spec["rate"]
        tasks = []

        async def scheduled(due: float) -> None:
            conn = await idle.get()  # none free: the wait counts in this request's latency
            try:
                await one(conn, due)
            finally:
                idle.put_nowait(conn)

        for i in itertools.count():
            due = start + i * interval
            if due >= end:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(scheduled(due)))
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    return {"ok": len(latencies), "errors": errors, "statuses": statuses, "elapsed": elapsed,
            "latencies_ms": [round(x, 3) for x in latencies], "records": records}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.load(sys.stdin)))), flush=True)
