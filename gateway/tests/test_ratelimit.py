"""The rate limiter against a real Redis (REDIS_URL, default the local one), under a key prefix of its own
that is removed afterwards; and how the gateway wires it (settings, routes, start-up)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from gateway import metrics
from gateway.ratelimit import RateLimited, RateLimiter, TokenBuckets
from infra.embedded_mongo import free_port
from shared.config import Rate, Settings
from shared.contracts.caller import ALL_DIVISIONS, Caller

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SLOW = 0.01  # tokens per second: next to nothing refills while a test runs

redis_test = pytest.mark.integration


@pytest.fixture
def prefix():
    """A key prefix (namespace) no one else uses; every key under it is deleted afterwards."""
    namespace = f"test-ratelimit-{secrets.token_hex(4)}"
    yield namespace
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(f"{namespace}:*"):
            client.delete(key)
    finally:
        client.close()


def run(coro_fn):
    """Run `coro_fn(client)` with a fresh asyncio Redis client, closed afterwards."""
    async def main():
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            return await coro_fn(client)
        finally:
            await client.aclose()
    return asyncio.run(main())


def counter(name: str, **labels) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


# ---------------------------------------------------------------------------------------------- the bucket

@redis_test
def test_a_bucket_allows_its_burst_then_refuses_with_the_wait_then_refills(prefix):
    rate = Rate(2, 5)
    key = f"{prefix}:bucket"

    async def go(client):
        buckets = TokenBuckets(client)
        burst = [await buckets.take([(key, rate)]) for _ in range(5)]
        assert [d.allowed for d in burst] == [True] * 5
        assert [d.remaining for d in burst] == [4, 3, 2, 1, 0]

        refused = await buckets.take([(key, rate)])
        assert not refused.allowed and refused.refused_by == 0 and refused.remaining == 0
        # one token at 2 per second: at most half a second, less what refilled during the burst
        assert 0.3 < refused.retry_after <= 0.5, refused

        await asyncio.sleep(refused.retry_after)
        assert (await buckets.take([(key, rate)])).allowed, "a token after waiting retry_after"
        assert not (await buckets.take([(key, rate)])).allowed

        started = time.monotonic()
        await asyncio.sleep(1.0)  # two tokens at 2 per second
        allowed = 0
        while (await buckets.take([(key, rate)])).allowed:
            allowed += 1
        elapsed = time.monotonic() - started
        assert 2 <= allowed <= int(rate.per_second * elapsed) + 1, (allowed, elapsed)
        return True

    assert run(go)


@redis_test
def test_a_bucket_expires_after_twice_its_refill_time(prefix):
    key = f"{prefix}:ttl"

    async def go(client):
        await TokenBuckets(client).take([(key, Rate(10, 50))])  # refills in 5 s
        state = await client.hgetall(key)
        return state, await client.pttl(key)

    state, ttl_ms = run(go)
    assert float(state[b"tokens"]) == pytest.approx(49, abs=0.01) and float(state[b"ts"]) > 1.7e9
    assert 9_000 < ttl_ms <= 10_000


@redis_test
def test_concurrent_callers_get_exactly_the_burst(prefix):
    """200 requests at once, from two clients (two gateway replicas' connection pools): exactly 100 pass."""
    key = f"{prefix}:race"
    rate = Rate(SLOW, 100)

    async def go(_client):
        replicas = [aioredis.Redis.from_url(REDIS_URL) for _ in range(2)]
        try:
            buckets = [TokenBuckets(r) for r in replicas]
            decisions = await asyncio.gather(*(buckets[i % 2].take([(key, rate)]) for i in range(200)))
        finally:
            for r in replicas:
                await r.aclose()
        return decisions

    decisions = run(go)
    assert sum(d.allowed for d in decisions) == 100
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(100))
    assert all(d.retry_after > 0 for d in decisions if not d.allowed)


@redis_test
def test_several_buckets_are_taken_from_all_or_none(prefix):
    small, large = (f"{prefix}:small", Rate(SLOW, 3)), (f"{prefix}:large", Rate(SLOW, 10))

    async def go(client):
        buckets = TokenBuckets(client)
        both = [await buckets.take([small, large]) for _ in range(5)]
        large_alone = [await buckets.take([large]) for _ in range(10)]
        return both, large_alone

    both, large_alone = run(go)
    assert [d.allowed for d in both] == [True] * 3 + [False] * 2
    assert both[-1].refused_by == 0 and both[-1].retry_after > 50  # 1 token at 0.01/s
    # the two refusals took nothing from the large bucket: 10 - 3 left
    assert [d.allowed for d in large_alone] == [True] * 7 + [False] * 3


# ---------------------------------------------------------------------------------------------- the limiter

def caller(key_id: str, role: str = "hr", divisions: tuple[str, ...] = ("retail",)) -> Caller:
    return Caller(key_id=key_id, name=key_id, role=role, divisions=divisions)


async def outcomes(limiter: RateLimiter, who: Caller, n: int) -> list[RateLimited | None]:
    found = []
    for _ in range(n):
        try:
            await limiter.check(who)
            found.append(None)
        except RateLimited as exc:
            found.append(exc)
    return found


@redis_test
def test_the_key_limit_answers_429_with_retry_after_and_counts_it(prefix):
    settings = Settings(namespace=prefix, rate_limit_key=Rate(SLOW, 3), rate_limit_division=Rate(SLOW, 100))
    before = counter("hireloop_rate_limited_total", scope="key")

    seen = run(lambda client: outcomes(RateLimiter(client, settings), caller("key_a"), 5))
    assert seen[:3] == [None] * 3
    refused = seen[3]
    assert isinstance(refused, RateLimited) and refused.status == 429 and refused.code == "rate_limited"
    assert refused.as_dict() == {"code": "rate_limited", "message": refused.message}
    assert "limit of 0.01 requests per second per key" in refused.message and "bursts of 3" in refused.message
    assert refused.retry_after == 100  # one token at 0.01 per second, in whole seconds
    assert counter("hireloop_rate_limited_total", scope="key") - before == 2

    # another key is not affected
    assert run(lambda client: outcomes(RateLimiter(client, settings), caller("key_b"), 3)) == [None] * 3


@redis_test
def test_the_division_limit_is_shared_by_the_keys_of_a_division(prefix):
    settings = Settings(namespace=prefix, rate_limit_key=Rate(SLOW, 3), rate_limit_division=Rate(SLOW, 5))
    before = counter("hireloop_rate_limited_total", scope="division")

    async def go(client):
        limiter = RateLimiter(client, settings)
        first = await outcomes(limiter, caller("key_1"), 3)  # its whole key burst, 2 left in retail
        second = await outcomes(limiter, caller("key_2"), 3)
        elsewhere = await outcomes(limiter, caller("key_3", divisions=("logistics",)), 3)
        both = await outcomes(limiter, caller("key_4", divisions=("logistics", "retail")), 1)
        admin = await outcomes(limiter, caller("key_5", "admin", (ALL_DIVISIONS,)), 3)
        return first, second, elsewhere, both, admin

    first, second, elsewhere, both, admin = run(go)
    assert first == [None] * 3
    assert second[:2] == [None, None] and isinstance(second[2], RateLimited)
    assert "per second for division 'retail'" in second[2].message and "bursts of 5" in second[2].message
    assert elsewhere == [None] * 3
    assert isinstance(both[0], RateLimited) and "'retail'" in both[0].message  # logistics has room, retail not
    assert admin == [None] * 3  # admin keys see every division: limited per key only
    assert counter("hireloop_rate_limited_total", scope="division") - before == 2


@redis_test
def test_off_means_no_limit_and_no_redis_keys(prefix):
    settings = Settings(namespace=prefix, rate_limit_key=None, rate_limit_division=None)

    async def go(client):
        seen = await outcomes(RateLimiter(client, settings), caller("key_off"), 50)
        return seen, [k async for k in client.scan_iter(f"{prefix}:*")]

    seen, keys = run(go)
    assert seen == [None] * 50 and keys == []


def test_redis_down_fails_open_and_is_counted():
    """Nothing listens on the port: every request goes through, and each failed check is counted."""
    settings = Settings(namespace="test-ratelimit-down", rate_limit_key=Rate(SLOW, 1))
    before = counter("hireloop_rate_limit_errors_total")

    async def go():
        client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
        try:
            return await outcomes(RateLimiter(client, settings), caller("key_down"), 3)
        finally:
            await client.aclose()

    assert asyncio.run(go()) == [None] * 3
    assert counter("hireloop_rate_limit_errors_total") - before == 3


# ---------------------------------------------------------------------------------------------- wiring

def test_every_v1_route_goes_through_authentication_and_so_the_limiter():
    from fastapi.routing import APIRoute, iter_route_contexts

    from gateway.app import create_app
    from gateway.deps import authenticated
    from gateway.ratelimit import ANONYMOUS_ROUTES

    def depends_on_authenticated(dependant) -> bool:
        return any(d.call is authenticated or depends_on_authenticated(d) for d in dependant.dependencies)

    app = create_app(Settings())
    # Every route, also those of the included routers (gateway/routes/), as declared.
    routes = [c.original_route for c in iter_route_contexts(app.routes)]
    v1 = [r for r in routes if isinstance(r, APIRoute) and r.path.startswith("/v1/")]
    assert len(v1) > 20
    # The public jobs API takes no key: it is limited per client address (ANONYMOUS_ROUTES).
    assert [r.path for r in v1 if not depends_on_authenticated(r.dependant)
            and not r.path.startswith("/v1/public/")] == []
    assert all(r.path.startswith(ANONYMOUS_ROUTES) for r in v1 if r.path.startswith("/v1/public/"))
    # and the operations and portal routes are not key-limited
    others = [r for r in routes if isinstance(r, APIRoute) and not r.path.startswith("/v1/")]
    assert {"/healthz", "/readyz", "/metrics", "/portal/{token}"} <= {r.path for r in others}
    assert [r.path for r in others if depends_on_authenticated(r.dependant)] == []


@pytest.mark.parametrize("name, value", [("RATE_LIMIT_KEY", "fast"), ("RATE_LIMIT_DIVISION", "100/0")])
def test_the_gateway_refuses_to_start_with_a_bad_limit(name, value):
    env = {**os.environ, name: value, "GATEWAY_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert f"bad configuration: {name}={value!r}" in done.stderr and "'off'" in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------ unauthenticated routes: the client address

def test_the_client_address_is_the_peer_unless_the_peer_is_a_trusted_proxy():
    from gateway.ratelimit import client_address, parse_proxies

    none = parse_proxies("")
    proxies = parse_proxies("10.0.0.0/8, 192.0.2.7, fd00::/8")
    # no trusted proxy: X-Forwarded-For is anyone's to write, so it is ignored
    assert client_address("203.0.113.5", ["1.2.3.4"], none) == "203.0.113.5"
    # a peer that is not a trusted proxy: same
    assert client_address("203.0.113.5", ["1.2.3.4"], proxies) == "203.0.113.5"
    # through one trusted proxy: the hop it appended; what the client wrote further left is never reached
    assert client_address("10.1.2.3", ["6.6.6.6, 198.51.100.9"], proxies) == "198.51.100.9"
    # through two trusted proxies (one header or several): past both
    assert client_address("10.1.2.3", ["6.6.6.6, 198.51.100.9, 192.0.2.7"], proxies) == "198.51.100.9"
    assert client_address("10.1.2.3", ["6.6.6.6, 198.51.100.9", "10.9.9.9"], proxies) == "198.51.100.9"
    # IPv6, and an IPv4-mapped peer; ports are dropped
    assert client_address("fd00::1", ["[2001:db8::5]:4711"], proxies) == "2001:db8::5"
    assert client_address("::ffff:10.0.0.1", ["198.51.100.9:80"], proxies) == "198.51.100.9"
    # a trusted proxy with no header, or garbage in it: the nearest address known
    assert client_address("10.1.2.3", [], proxies) == "10.1.2.3"
    assert client_address("10.1.2.3", ["not-an-address"], proxies) == "10.1.2.3"
    assert client_address(None, [], none) == "unknown"


def test_trusted_proxies_must_be_addresses_or_blocks():
    from gateway.ratelimit import parse_proxies

    assert len(parse_proxies("127.0.0.1,::1, 10.0.0.0/8")) == 3
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        parse_proxies("localhost")


def test_rate_limit_anonymous_has_a_default_and_is_strict(monkeypatch):
    monkeypatch.delenv("RATE_LIMIT_ANONYMOUS", raising=False)
    assert Settings.from_env().rate_limit_anonymous == Rate(2, 30)
    monkeypatch.setenv("RATE_LIMIT_ANONYMOUS", "off")
    assert Settings.from_env().rate_limit_anonymous is None
    monkeypatch.setenv("RATE_LIMIT_ANONYMOUS", "many")
    with pytest.raises(ValueError, match="RATE_LIMIT_ANONYMOUS"):
        Settings.from_env()


@redis_test
def test_an_address_bucket_refuses_after_its_burst_with_a_retry_after(prefix):
    settings = Settings(namespace=prefix, rate_limit_anonymous=Rate(SLOW, 3))

    async def go(client):
        limiter = RateLimiter(client, settings)
        for _ in range(3):
            await limiter.check_address("198.51.100.9")
        with pytest.raises(RateLimited) as refused:
            await limiter.check_address("198.51.100.9")
        await limiter.check_address("198.51.100.10")  # another address has its own bucket
        return refused.value

    refused = run(go)
    assert refused.status == 429 and refused.retry_after >= 1 and "per client address" in str(refused)
