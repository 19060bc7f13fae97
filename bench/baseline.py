"""Baselines, measured in the same run on the same machine as every other figure:
- raw RabbitMQ: aio-pika publishes persistent messages with publisher confirms to a quorum queue (like
  the services' queues) while a consumer acks them; messages/s from the first publish to the last ack.
- raw nameko RPC: a trivial nameko 3 method (bench/echo_service.py), 50 calls in flight from
  shared/bus/aio_rpc.py's AsyncRpcClient (the gateway's client); calls/s.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
import uuid

import aio_pika

from shared.bus.aio_rpc import AsyncRpcClient


async def rabbit_rate(url: str, n: int, in_flight: int = 100) -> float:
    connection = await aio_pika.connect_robust(url)
    try:
        pub = await connection.channel(publisher_confirms=True)
        sub = await connection.channel()
        await sub.set_qos(prefetch_count=in_flight)
        name = f"bench.raw-{uuid.uuid4().hex[:8]}"
        queue = await sub.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        got = 0
        done = asyncio.Event()

        async def on_message(message):
            nonlocal got
            await message.ack()
            got += 1
            if got >= n:
                done.set()

        await queue.consume(on_message)
        body = b'{"payload": "' + b"x" * 400 + b'"}'  # about the size of an event envelope
        window = asyncio.Semaphore(in_flight)

        async def publish_one():
            async with window:
                await pub.default_exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=name)

        start = time.perf_counter()
        await asyncio.gather(*(publish_one() for _ in range(n)))
        await asyncio.wait_for(done.wait(), 120)
        elapsed = time.perf_counter() - start
        await queue.delete(if_unused=False, if_empty=False)
        return n / elapsed
    finally:
        await connection.close()


async def rpc_rate(url: str, n: int, in_flight: int = 50) -> float:
    client = AsyncRpcClient(url, name="bench", timeout=30)
    await client.connect()
    try:
        for _ in range(20):  # warm up: connections, the reply queue
            await client.call("bench_echo", "echo", value=1)
        window = asyncio.Semaphore(in_flight)

        async def one(i):
            async with window:
                assert await client.call("bench_echo", "echo", value=i) == i

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)
    finally:
        await client.close()


class EchoService:
    def __init__(self, env: dict):
        self.env = env
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> EchoService:
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.echo_service"], env=self.env,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        if "ready" not in (self.proc.stdout.readline() or ""):  # empty: it exited
            self.proc.wait(10)
            self.log.seek(0)
            raise RuntimeError(f"bench_echo did not start: {self.log.read()[-2000:]!r}")
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
