"""Rate limits: token buckets in Redis, shared by every gateway replica.

Every authenticated request takes one token from its API key's bucket and, for a division-scoped key, one
from the bucket of each of the key's divisions (keys that see every division, such as admin keys, are
limited per key only). Sizes come from `RATE_LIMIT_KEY` and `RATE_LIMIT_DIVISION` (shared/config.py;
default 20 requests per second with bursts of 100 per key, 100/500 per division).

One Lua script checks and takes from all of a request's buckets atomically: either every bucket has a
token and each loses one, or none is touched and the caller learns how long to wait. The script reads the
clock of the Redis server (`TIME`), never a replica's, so gateways with skewed clocks agree. A bucket is a
hash `{tokens, ts}` that expires after twice its refill time: by then it would be full again, so a bucket
that vanished and a full one are the same thing and idle keys cost no memory.
"""

from __future__ import annotations

import asyncio
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

    async def check(self, caller: Caller) -> None:
        """Raise RateLimited when a bucket of the caller is empty; otherwise take a token from each.

        Fails open: when Redis is down or slower than REDIS_TIMEOUT_SECONDS, the request goes through
        unlimited (a warning at most every WARN_EVERY_SECONDS, and `hireloop_rate_limit_errors_total`).
        Refusing all traffic because the limiter's store is away would turn a Redis outage into a full
        API outage; the limit protects the platform from one noisy client, not from every client."""
        buckets = self._buckets(caller)
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
