"""Rate limits: token buckets in Redis, shared by every gateway replica.

Every authenticated request takes one token from its API key's bucket and, for a division-scoped key, one
from the bucket of each of the key's divisions (keys that see every division, such as admin keys, are
limited per key only). Sizes come from `RATE_LIMIT_KEY` and `RATE_LIMIT_DIVISION` (shared/config.py;
default 20 requests per second with bursts of 100 per key, 100/500 per division).

Routes that take no API key (the candidate portal, the console's sign-in, the careers site and the public
jobs API: ANONYMOUS_ROUTES) are limited per client address instead (`RATE_LIMIT_ANONYMOUS`, default 2
requests per second with bursts of 30), by the `AnonymousRateLimit` middleware; an application (careers form
or public API) also draws on its address's stricter applications bucket (`RATE_LIMIT_APPLY`). The client
address is the connection's peer; X-Forwarded-For is believed only when the peer is one of
`TRUSTED_PROXIES`, and then only the hops those proxies appended (`client_address`).

One Lua script checks and takes from all of a request's buckets atomically: either every bucket has a
token and each loses one, or none is touched and the caller learns how long to wait. The script reads the
clock of the Redis server (`TIME`), never a replica's, so gateways with skewed clocks agree. A bucket is a
hash `{tokens, ts}` that expires after twice its refill time: by then it would be full again, so a bucket
that vanished and a full one are the same thing and idle keys cost no memory.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import time
from dataclasses import dataclass

from redis.exceptions import RedisError

from gateway import metrics
from shared.config import Rate, Settings
from shared.contracts.caller import Caller
from shared.errors import DomainError

log = logging.getLogger("hireloop.gateway.ratelimit")

# How long a check may take before the request goes through unlimited (see RateLimiter.check).
REDIS_TIMEOUT_SECONDS = 1.0
WARN_EVERY_SECONDS = 30.0

# KEYS: the buckets (hashes); ARGV: cost, then rate (tokens per second) and burst for each key in order.
# Returns {allowed 0|1, wait in ms until the refusing bucket has `cost` tokens, tokens left (the refusing
# bucket's, or the fewest of all after taking), 1-based index of the refusing bucket or 0}.
# Numbers leave Lua as integers (Redis truncates floats), hence milliseconds.
TOKEN_BUCKET_LUA = """
local cost = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local levels, wait, refusing = {}, 0, 0
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local level, ts = tonumber(state[1]), tonumber(state[2])
  if level == nil or ts == nil then
    level = burst
  else
    -- max(0, ...): a server clock that stepped back (failover) refills nothing rather than draining
    level = math.min(burst, level + math.max(0, now - ts) * rate)
  end
  levels[i] = level
  if level < cost and (cost - level) / rate > wait then
    wait, refusing = (cost - level) / rate, i
  end
end
if refusing > 0 then
  return {0, math.ceil(wait * 1000), math.floor(levels[refusing]), refusing}
end
local fewest = nil
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local left = levels[i] - cost
  redis.call('HSET', key, 'tokens', string.format('%.6f', left), 'ts', string.format('%.6f', now))
  redis.call('PEXPIRE', key, math.ceil(2000 * burst / rate))
  if fewest == nil or left < fewest then fewest = left end
end
return {1, 0, math.floor(fewest), 0}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until the request would be allowed; 0 when allowed
    remaining: int  # whole tokens left: in the refusing bucket, or the fewest of all after taking
    refused_by: int | None = None  # index into the buckets passed, of the one that refused


class TokenBuckets:
    """The Lua token bucket over one Redis connection pool (EVALSHA, loading the script when Redis lacks it)."""

    def __init__(self, redis):
        self.script = redis.register_script(TOKEN_BUCKET_LUA)

    async def take(self, buckets: list[tuple[str, Rate]], cost: int = 1) -> Decision:
        """Take `cost` tokens from every bucket (Redis key, size), or from none when one lacks them.

        In a Redis Cluster all the keys of one call must share a hash slot; hireloop uses one Redis."""
        if not buckets:
            return Decision(True, 0.0, 0)
        args: list[float | int] = [cost]
        for _, rate in buckets:
            args += [rate.per_second, rate.burst]
        allowed, wait_ms, remaining, refusing = await self.script(keys=[key for key, _ in buckets], args=args)
        if allowed:
            return Decision(True, 0.0, int(remaining))
        return Decision(False, int(wait_ms) / 1000, int(remaining), int(refusing) - 1)


class RateLimited(DomainError):
    """429: a rate limit refused the request; `retry_after` whole seconds (at least 1) go in Retry-After."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """The gateway's limits for an authenticated caller: per API key and per division."""

    def __init__(self, redis, settings: Settings):
        self.buckets = TokenBuckets(redis)
        self.settings = settings
        self._last_warning = -math.inf

    def _buckets(self, caller: Caller) -> list[tuple[str, Rate, str, str]]:
        """(Redis key, size, scope, what the message calls it) for each bucket the caller draws on."""
        s = self.settings
        found = []
        if s.rate_limit_key is not None:
            found.append((s.redis_key("ratelimit", "key", caller.key_id), s.rate_limit_key, "key", "per key"))
        if s.rate_limit_division is not None and not caller.is_group_wide:
            for division in sorted(set(caller.divisions)):
                found.append((s.redis_key("ratelimit", "division", division), s.rate_limit_division, "division",
                              f"for division '{division}'"))
        return found

    async def check_address(self, address: str) -> None:
        """Raise RateLimited when the client address's bucket (unauthenticated routes) is empty."""
        rate = self.settings.rate_limit_anonymous
        if rate is None:
            return
        await self._take([(self.settings.redis_key("ratelimit", "address", address), rate, "anonymous",
                           "per client address")])

    async def check_application(self, address: str) -> None:
        """Raise RateLimited when the client address's applications bucket is empty (RATE_LIMIT_APPLY)."""
        rate = self.settings.rate_limit_apply
        if rate is None:
            return
        await self._take([(self.settings.redis_key("ratelimit", "apply", address), rate, "apply",
                           "applications per client address")])

    async def check(self, caller: Caller) -> None:
        """Raise RateLimited when a bucket of the caller is empty; otherwise take a token from each.

        Fails open: when Redis is down or slower than REDIS_TIMEOUT_SECONDS, the request goes through
        unlimited (a warning at most every WARN_EVERY_SECONDS, and `hireloop_rate_limit_errors_total`).
        Refusing all traffic because the limiter's store is away would turn a Redis outage into a full
        API outage; the limit protects the platform from one noisy client, not from every client."""
        await self._take(self._buckets(caller))

    async def _take(self, buckets: list[tuple[str, Rate, str, str]]) -> None:
        if not buckets:
            return
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                decision = await self.buckets.take([(key, rate) for key, rate, _, _ in buckets])
        except (RedisError, OSError, TimeoutError) as exc:
            metrics.RATE_LIMIT_ERRORS.inc()
            now = time.monotonic()
            if now - self._last_warning >= WARN_EVERY_SECONDS:
                self._last_warning = now
                log.warning("rate limit check failed; letting requests through unlimited",
                            extra={"exc_type": type(exc).__name__, "error": str(exc)})
            return
        if decision.allowed:
            return
        _, rate, scope, where = buckets[decision.refused_by]
        metrics.RATE_LIMITED.labels(scope).inc()
        retry_after = max(1, math.ceil(decision.retry_after))
        raise RateLimited(f"rate limit of {rate.per_second:g} requests per second {where} exceeded (bursts of "
                          f"{rate.burst}); retry after {retry_after} s", retry_after)


# Path prefixes of the routes that take no API key, limited per client address.
ANONYMOUS_ROUTES = ("/portal/", "/console/login", "/careers", "/v1/public/", "/console/invitations/",
                    "/console/password-reset")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(text: str) -> tuple[IpNetwork, ...]:
    """TRUSTED_PROXIES: comma-separated addresses or CIDR blocks. A typo stops the process at start."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {part!r} is not an IP address or CIDR block") from None
    return tuple(networks)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip


def _trusted(ip, proxies: tuple[IpNetwork, ...]) -> bool:
    return ip is not None and any(ip.version == net.version and ip in net for net in proxies)


def client_address(peer: str | None, forwarded_for: list[str], proxies: tuple[IpNetwork, ...]) -> str:
    """The address a request is limited by. Without trusted proxies, or from a peer that is not one, it is the
    peer's: X-Forwarded-For is anyone's to write. From a trusted proxy, X-Forwarded-For is read from the right
    (each proxy appends the address it saw) past the trusted proxies; the first other hop is the client.
    Whatever a client wrote further left is never reached."""
    peer_ip = _ip(peer or "")
    if not _trusted(peer_ip, proxies):
        return str(peer_ip) if peer_ip is not None else (peer or "unknown")
    hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
    nearest = peer_ip
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # a trusted proxy wrote something that is not an address: stop at the last one we know
        if not _trusted(ip, proxies):
            return str(ip)
        nearest = ip
    return str(nearest)


def scope_address(scope, proxies: tuple[IpNetwork, ...]) -> str:
    """The client address of an ASGI request (`client_address` of its peer and X-Forwarded-For headers)."""
    peer = scope["client"][0] if scope.get("client") else None
    forwarded = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"]
    return client_address(peer, forwarded, proxies)


class AnonymousRateLimit:
    """Pure ASGI middleware: routes under ANONYMOUS_ROUTES draw on their client address's bucket; a refused
    request is a 429 `rate_limited` with Retry-After and reaches no route."""

    def __init__(self, app, proxies: tuple[IpNetwork, ...] = ()):
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(ANONYMOUS_ROUTES):
            await self.app(scope, receive, send)
            return
        address = scope_address(scope, self.proxies)
        try:
            await scope["app"].state.gateway.limiter.check_address(address)
        except RateLimited as exc:
            body = json.dumps({"error": exc.as_dict()}).encode()
            await send({"type": "http.response.start", "status": exc.status, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(exc.retry_after).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
