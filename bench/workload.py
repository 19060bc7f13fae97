"""Shared pieces of the benchmarks: requisitions and applications through the API, the load generator
process, and event watchers on the bus (a bench-owned queue bound to a service's events exchange)."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import threading
import time

import aio_pika

from shared.bus.topology import events_exchange, every_key

SKILLS = ["coffee", "customer service", "latte art", "cash handling", "inventory", "scheduling"]


def requisition_body(division: str = "retail", urgent: bool = False, required=None, nice=None) -> dict:
    return {"title": "Barista", "division": division, "department": "stores", "tier": "basic", "urgent": urgent,
            "required_skills": required if required is not None else ["coffee", "customer service"],
            "skills": nice if nice is not None else ["latte art"], "min_years": 1}


def application_body(requisition_id: str, n: int, tag: str) -> dict:
    return {"requisition_id": requisition_id, "source": "referral", "talent_pool_consent": True,
            "candidate": {"name": f"Bench Candidate {n}", "email": f"bench-{tag}-{n}@example.com",
                          "skills": SKILLS[: 2 + n % 4], "years_experience": 1 + n % 5}}


def new_requisition(client, **kw) -> str:
    r = client.post("/v1/requisitions", json=requisition_body(**kw))
    r.raise_for_status()
    return r.json()["id"]


def run_loadgen(spec: dict, timeout: float = 600) -> dict:
    """Runs bench/loadgen.py in a process of its own and returns its result."""
    out = subprocess.run([sys.executable, "-m", "bench.loadgen"], input=json.dumps(spec), capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class EventWatcher:
    """Records when each event of some types arrives (wall-clock), keyed by a payload field, on a queue of
    its own bound to `<producer>.events`. Runs its own event loop in a thread."""

    def __init__(self, rabbit_url: str, producer: str, types: list[str], key: str = "application_id",
                 accept=None):
        self.url, self.producer, self.types, self.key = rabbit_url, producer, types, key
        self.accept = accept or (lambda payload: True)
        self.seen: dict[str, float] = {}
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        conn = await aio_pika.connect_robust(self.url)
        channel = await conn.channel()
        await channel.set_qos(prefetch_count=500)
        exchange = await channel.declare_exchange(events_exchange(self.producer), aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        queue = await channel.declare_queue(f"bench.watch-{secrets.token_hex(4)}", exclusive=True,
                                            auto_delete=True)
        for t in self.types:
            await queue.bind(exchange, routing_key=every_key(t))  # a status change's key names its transition

        async def on_message(message):
            at = time.time()
            payload = json.loads(message.body).get("payload") or {}
            if self.accept(payload):
                self.seen.setdefault(payload.get(self.key), at)
            await message.ack()

        await queue.consume(on_message)
        self._ready.set()
        await self._stop.wait()
        await conn.close()

    def __enter__(self) -> EventWatcher:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("event watcher did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def wait_for(self, ids, timeout: float) -> int:
        """Waits until every id was seen (or the timeout); returns how many were."""
        ids = set(ids)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not ids <= self.seen.keys():
            time.sleep(0.1)
        return len(ids & self.seen.keys())
