"""An asyncio client for nameko RPC, on aio-pika (the gateway has no eventlet).

nameko's protocol: publish `{"args": [], "kwargs": {...}}` as JSON to exchange `nameko-rpc` with routing
key `<service>.<method>`, `reply_to` = the routing key of our reply queue (bound to the same exchange)
and a `correlation_id`; context travels as `nameko.<key>` headers. The reply is
`{"result": ..., "error": null | {exc_type, exc_path, exc_args, value}}`.

`call(..., as_caller=caller)` signs the caller context for that one call (shared/context.py): over the
service, the method and the arguments exactly as published, with a fresh id and a short expiry.

Every call is bounded by a timeout: a slow or absent service yields ServiceUnavailable (HTTP 503),
never a hung request. Messages are published `mandatory`, so a service whose queue does not exist
fails at once instead of after the timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any, TypeVar

import aio_pika
import aiormq
from aio_pika.exceptions import DeliveryError
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.bus.topology import DEADLINE_HEADER, RPC_EXCHANGE
from shared.context import CALLER_CONTEXT_KEY, sign_caller
from shared.contracts.caller import Caller
from shared.contracts.rpc import Rpc
from shared.errors import ERRORS_BY_NAME

log = logging.getLogger("hireloop.rpc")
R = TypeVar("R")


# Errors of a service that mean "try again in a moment" (HTTP 503), not a bug (500).
TRY_AGAIN_LATER = ("UpstreamUnavailable", "StillContended")


class ServiceUnavailable(Exception):
    def __init__(self, service: str, reason: str):
        super().__init__(f"service '{service}' is unavailable: {reason}")
        self.service = service
        self.reason = reason


class RemoteError(Exception):
    """An unexpected error inside a service (a bug, not a domain error)."""

    def __init__(self, service: str, exc_type: str, value: str):
        super().__init__(f"{service}: {exc_type}: {value}")
        self.service = service
        self.exc_type = exc_type


# nameko replies {"result": ..., "error": null} through kombu's json (default separators): the result's own
# bytes sit between these.
_REPLY_HEAD, _REPLY_TAIL = b'{"result": ', b', "error": null}'


def result_bytes(body: bytes, result: Any) -> bytes:
    """The result's JSON as the reply `body` holds it, sliced out; encoded again only if the body is not in
    the expected form."""
    if body.startswith(_REPLY_HEAD) and body.endswith(_REPLY_TAIL):
        return body[len(_REPLY_HEAD):-len(_REPLY_TAIL)]
    return json.dumps(result).encode()


class AsyncRpcClient:
    def __init__(self, amqp_url: str, name: str = "gateway", timeout: float = 10.0,
                 context_secret: str | None = None, predeclared: bool = False):
        self.amqp_url = amqp_url
        # HIRELOOP_CONTEXT_SECRET, to sign the caller of a call (`as_caller`); None: this client signs none.
        self.context_secret = context_secret
        # BROKER_TOPOLOGY=predeclared: the operator imported the topology; declare only the reply queue.
        self.predeclared = predeclared
        self.name = name
        self.timeout = timeout
        self.reply_key = str(uuid.uuid4())
        self._pending: dict[str, asyncio.Future] = {}
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel = None
        self._exchange = None

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.amqp_url, client_properties={"connection_name": self.name}
        )
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        # Passive when the operator imported the topology: a least-privilege user may not declare it.
        self._exchange = await self._channel.declare_exchange(RPC_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True,
                                                              passive=self.predeclared)
        queue = await self._channel.declare_queue(
            f"rpc.reply-{self.name}-{self.reply_key}", exclusive=True, auto_delete=True
        )
        await queue.bind(self._exchange, routing_key=self.reply_key)
        await queue.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ServiceUnavailable("bus", "client closed"))
        if self._connection is not None:
            await self._connection.close()

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        fut = self._pending.pop(message.correlation_id or "", None)
        if fut is None or fut.done():
            return  # a reply that arrived after its caller gave up
        try:
            fut.set_result((json.loads(message.body), message.body))
        except ValueError as exc:
            fut.set_exception(exc)

    async def queue_depths(self, names: list[str]) -> dict[str, tuple[int, int]]:
        """(messages ready, consumers) of each named queue that exists, by passive declares."""
        if not self.connected:
            return {}
        found: dict[str, tuple[int, int]] = {}
        channel = await self._connection.channel()
        try:
            for name in names:
                try:
                    queue = await channel.declare_queue(name, passive=True)
                except aio_pika.exceptions.ChannelClosed:
                    channel = await self._connection.channel()  # a missing queue closes the channel
                    continue
                result = queue.declaration_result
                found[name] = (result.message_count, result.consumer_count)
        finally:
            if not channel.is_closed:
                await channel.close()
        return found

    async def listen(self, exchange: str, routing_keys: list[str], on_message) -> None:
        """Hear events as they are published (not a service inbox): a queue of this client's own, gone
        with its connection, so a listener that is away misses events rather than piling them up. For
        live views only; anything that must not miss an event is a service with an inbox."""
        if not self.connected:
            raise ServiceUnavailable("bus", "not connected to the broker")
        channel = await self._connection.channel()
        events = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True,
                                                passive=self.predeclared)
        queue = await channel.declare_queue(f"live-{self.name}-{uuid.uuid4()}", exclusive=True, auto_delete=True)
        for key in routing_keys:
            await queue.bind(events, routing_key=key)
        await queue.consume(on_message, no_ack=True)

    async def rpc(self, declared: Rpc[Any, R], caller: Caller | None, *, context: dict[str, Any] | None = None,
                  timeout: float | None = None, **kwargs: Any) -> R:
        """Call a declared RPC (shared/contracts/rpc.py): arguments validated and sent in their JSON form,
        the answer read back into the declared type."""
        wire = declared.request(**kwargs)
        raw = await self.call(declared.service, declared.method, context=context, timeout=timeout,
                              as_caller=caller, **wire)
        return declared.read_result(raw)

    async def rpc_json(self, declared: Rpc[Any, Any], caller: Caller | None, *,
                       context: dict[str, Any] | None = None, timeout: float | None = None,
                       **kwargs: Any) -> tuple[Any, bytes]:
        """Call a declared RPC and answer its result decoded (plain JSON values, not read into the declared
        type) and as the JSON bytes the service sent, to pass on as they are: the service already
        serialised it through its declaration (shared/contracts/rpc.py `implements`)."""
        wire = declared.request(**kwargs)
        return await self.call(declared.service, declared.method, context=context, timeout=timeout,
                               as_caller=caller, raw=True, **wire)

    async def call(self, service: str, method: str, *, context: dict[str, Any] | None = None,
                   timeout: float | None = None, as_caller: Caller | None = None, raw: bool = False,
                   **kwargs: Any) -> Any:
        """Call `service.method(**kwargs)` in a CLIENT span whose context travels as `nameko.traceparent`;
        with `as_caller`, a caller context signed for this call."""
        with tracing.tracer().start_as_current_span(
            f"{service}/{method}",
            kind=SpanKind.CLIENT,
            attributes={
                "rpc.system": "nameko",
                "rpc.service": service,
                "rpc.method": method,
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "send",
                "messaging.destination.name": RPC_EXCHANGE,
                "messaging.rabbitmq.destination.routing_key": f"{service}.{method}",
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                return await self._call(service, method, tracing.inject_into(dict(context or {})), timeout, kwargs,
                                        as_caller, raw)
            except Exception as exc:
                expected = not isinstance(exc, ServiceUnavailable | RemoteError)  # domain answers: 4xx
                tracing.record_error(span, exc, expected=expected)
                raise

    async def _call(self, service: str, method: str, context: dict[str, Any], timeout: float | None,
                    kwargs: dict[str, Any], as_caller: Caller | None = None, raw: bool = False) -> Any:
        if self._exchange is None:
            raise ServiceUnavailable(service, "not connected to the broker")
        if as_caller is not None and not self.context_secret:
            raise ValueError("this RPC client has no context secret to sign a caller with")
        correlation_id = str(uuid.uuid4())
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        self._pending[correlation_id] = fut
        headers = {f"nameko.{k}": v for k, v in (context or {}).items() if v is not None}
        headers.setdefault("nameko.call_id_stack", [f"{self.name}.{method}.{correlation_id}"])
        bound = timeout or self.timeout
        # Not executed once the caller has given up: the service drops a request received after this.
        # Integer milliseconds: AMQP float headers may be 32-bit, which rounds an epoch to minutes.
        headers[DEADLINE_HEADER] = int((time.time() + bound) * 1000)
        body = json.dumps({"args": [], "kwargs": kwargs}, default=str)
        if as_caller is not None:
            # Signed over the arguments as published (the service digests what it decodes from `body`).
            headers[f"nameko.{CALLER_CONTEXT_KEY}"] = sign_caller(
                as_caller, service, method, json.loads(body)["kwargs"], secret=self.context_secret)
        message = aio_pika.Message(
            body.encode(),
            content_type="application/json",
            content_encoding="utf-8",
            correlation_id=correlation_id,
            reply_to=self.reply_key,
            headers=headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            async with asyncio.timeout(bound):
                try:
                    await self._exchange.publish(message, routing_key=f"{service}.{method}", mandatory=True)
                except DeliveryError as exc:
                    raise ServiceUnavailable(service, "no queue for this service (never started?)") from exc
                reply, body = await fut
        except TimeoutError:
            raise ServiceUnavailable(service, f"no reply within {bound:g}s") from None
        except (aio_pika.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError, ConnectionError) as exc:
            # The broker is away or the channel is being re-opened (robust connection): a 503, retry later.
            raise ServiceUnavailable(service, f"broker unavailable: {type(exc).__name__}") from exc
        finally:
            self._pending.pop(correlation_id, None)
        error = reply.get("error")
        if error:
            cls = ERRORS_BY_NAME.get(error.get("exc_type", ""))
            args = error.get("exc_args") or []
            if cls is not None and args:
                raise cls(*args[:3])
            if error.get("exc_type") in TRY_AGAIN_LATER:  # a dependency is away or busy: not a bug
                raise ServiceUnavailable(service, error.get("value", "a service it depends on did not answer"))
            raise RemoteError(service, error.get("exc_type", "Error"), error.get("value", ""))
        if raw:
            return reply.get("result"), result_bytes(body, reply.get("result"))
        return reply.get("result")
