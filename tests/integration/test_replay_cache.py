"""The replay cache of caller-context ids on the real Redis: an id is accepted once, then refused until it
expires; Redis away is an error (503 upstream), never a pass."""

import pytest
import redis

from shared.bus.callers import RedisReplayCache
from shared.bus.remote import UpstreamUnavailable
from shared.ids import new_id

pytestmark = pytest.mark.integration


def test_an_id_is_accepted_once_and_expires(test_infra):
    client = redis.Redis.from_url(test_infra.redis_url)
    prefix = f"{test_infra.namespace}:rpc-seen"
    cache = RedisReplayCache(client, prefix, ttl=60)
    jti = new_id("jti")
    try:
        assert cache.first_use(jti) is True
        assert cache.first_use(jti) is False
        assert cache.first_use(new_id("jti")) is True
        assert 0 < client.ttl(f"{prefix}:{jti}") <= 60
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


def test_redis_away_refuses_instead_of_passing():
    # retry=None: redis-py's own retries (seconds of back-off) are not what is tested here
    cache = RedisReplayCache(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1, retry=None), "x")
    with pytest.raises(UpstreamUnavailable):
        cache.first_use("any")
