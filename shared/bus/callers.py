"""Who is calling, inside a nameko worker: verified once per worker, re-signed for every call it makes.

- `caller_of(worker_ctx)`: the Caller of the RPC this worker executes, from a token signed for exactly this
  call (service, method, arguments; shared/context.py) whose id was never used before (`RedisReplayCache`).
  Verified once and kept on the worker context. A handler or timer has no caller (none calls another service).
- `CallerRpc(service)`: nameko's ServiceRpc, except that every call signs the worker's caller afresh for
  that call (nameko would copy the worker's incoming token, which the next service refuses: it was
  signed for another call). Services use it instead of ServiceRpc (a test checks none uses ServiceRpc).
"""

from __future__ import annotations

import logging
import threading

import redis
from nameko.rpc import Client, Rpc, ServiceRpc

from shared.bus.configured import container_settings
from shared.bus.remote import UpstreamUnavailable
from shared.context import CALLER_CONTEXT_KEY, REPLAY_TTL_SECONDS, sign_caller, verify_once
from shared.contracts.caller import Caller
from shared.errors import Unauthenticated

log = logging.getLogger("hireloop.callers")
_VERIFIED = "_hireloop_caller"  # attribute on the WorkerContext (not context_data: that travels as headers)


class RedisReplayCache:
    """Ids of caller tokens already used, in Redis (SET NX EX), so every replica of a service shares them."""

    def __init__(self, client: redis.Redis, prefix: str, ttl: int = REPLAY_TTL_SECONDS):
        self.client = client
        self.prefix = prefix
        self.ttl = ttl

    def first_use(self, jti: str) -> bool:
        try:
            return bool(self.client.set(f"{self.prefix}:{jti}", 1, nx=True, ex=self.ttl))
        except redis.RedisError as exc:
            # Cannot tell a replay from a first use: refuse, as "try again later" (503), never as success.
            raise UpstreamUnavailable(f"replay cache unavailable: {type(exc).__name__}") from exc


_cache: RedisReplayCache | None = None
_cache_lock = threading.Lock()


def replay_cache() -> RedisReplayCache:
    """One Redis connection pool per process (redis-py is green under eventlet's monkey patching)."""
    global _cache
    with _cache_lock:
        if _cache is None:
            settings = container_settings()
            client = redis.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=3)
            _cache = RedisReplayCache(client, settings.redis_key("rpc-seen"))
        return _cache


def caller_of(worker_ctx) -> Caller:
    """The verified caller of this worker; Unauthenticated when missing, forged, signed for another call,
    expired or already used. Only RPC workers have one."""
    found = getattr(worker_ctx, _VERIFIED, None)
    if found is not None:
        return found
    entrypoint = worker_ctx.entrypoint
    if not isinstance(entrypoint, Rpc):
        raise Unauthenticated("no caller: this worker is not an RPC")
    caller = verify_once(
        worker_ctx.context_data.get(CALLER_CONTEXT_KEY),
        worker_ctx.container.service_name,
        entrypoint.method_name,
        worker_ctx.kwargs,
        replay_cache(),
        args=worker_ctx.args,
        secret=container_settings().context_secret,
    )
    setattr(worker_ctx, _VERIFIED, caller)
    return caller


class _SigningClient(Client):
    """nameko's RPC client; each call carries a token signed for that call only."""

    def __init__(self, worker_ctx, publish, register_for_reply, service_name=None, method_name=None):
        super().__init__(publish, register_for_reply, worker_ctx.context_data, service_name, method_name)
        self.worker_ctx = worker_ctx

    def __getattr__(self, name):
        if self.method_name is not None or name.startswith("__"):
            raise AttributeError(name)
        if self.service_name:
            return _SigningClient(self.worker_ctx, self.publish, self.register_for_reply, self.service_name, name)
        return _SigningClient(self.worker_ctx, self.publish, self.register_for_reply, name)

    def _call(self, *args, **kwargs):
        if not self.fully_specified:
            raise ValueError(f"Cannot call unspecified method {self.identifier}")
        caller = caller_of(self.worker_ctx)
        token = sign_caller(caller, self.service_name, self.method_name, kwargs, args=args,
                            secret=container_settings().context_secret)
        # The worker's own context (trace, correlation, call id stack), with this call's token in place of
        # the one the worker received.
        signed = Client(self.publish, self.register_for_reply, {**self.context_data, CALLER_CONTEXT_KEY: token},
                        self.service_name, self.method_name)
        return signed._call(*args, **kwargs)


class CallerRpc(ServiceRpc):
    """`ServiceRpc(target)` whose calls are signed for the call (see the module docstring)."""

    def get_dependency(self, worker_ctx):
        return _SigningClient(worker_ctx, self.publisher.publish, self.reply_listener.register_for_reply,
                              self.target_service)
