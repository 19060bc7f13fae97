"""Dead letters: list, inspect, replay or drop what landed in the `<service>.dlq` queues.

    python -m shared.bus.dlq list [--service S] [--json]
    python -m shared.bus.dlq inspect SERVICE ID
    python -m shared.bus.dlq replay SERVICE (ID ... | --all)
    python -m shared.bus.dlq drop SERVICE (ID ... | --all)

`make dlq` runs `list`; `make dlq ARGS="replay screening --all"` passes arguments. RABBIT_URL says which
broker (and vhost).

A dead letter's ID is its AMQP message id (an event's id), else its correlation id (an RPC request), else
the first 16 hex digits of the SHA-256 of its body. Replay puts the original bytes and properties back
on the queue the message was taken from (`<service>.inbox` or `rpc-<service>`), without the
dead-letter headers, and removes it from the dead-letter queue only after the broker confirmed the
republish: a replay never loses a message. A replayed event that was handled meanwhile is acked by the
service's inbox as a duplicate; one that fails again comes back here.

Reading never removes anything: messages are fetched unacknowledged and returned when the channel closes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kombu import Connection

from shared.bus import topology
from shared.contracts.common import SERVICES
from shared.erasure import mentions_any

DEAD_LETTER_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                       "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", "x-delivery-count")


@dataclass
class DeadLetter:
    service: str
    id: str
    reason: str
    error: str
    original_exchange: str
    original_routing_key: str
    replay_queue: str
    dead_lettered_at: float | None
    size: int
    headers: dict[str, Any] = field(repr=False)
    body: bytes = field(repr=False)
    properties: dict[str, Any] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("headers", "body", "properties"):
            data.pop(key)
        return data

    def body_text(self, limit: int = 20000) -> str:
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(self.body)} bytes, not UTF-8> {self.body[:200].hex()}"
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def _replay_queue(service: str, headers: dict[str, Any]) -> str:
    deaths = headers.get("x-death") or []
    if "x-hireloop-reason" not in headers and deaths and isinstance(deaths, list) and deaths[0].get("queue"):
        return str(deaths[0]["queue"])  # dead-lettered by the broker (delivery limit): back where it was
    if headers.get("x-hireloop-original-exchange") == topology.RPC_EXCHANGE:
        return topology.rpc_queue(service)
    return topology.inbox_queue(service)


def _to_dead_letter(service: str, message) -> DeadLetter:
    headers = dict(message.headers or {})
    props = message.properties or {}
    # py-amqp hands over text bodies decoded; encoding them again gives back the exact bytes.
    body = message.body
    body = bytes(body) if isinstance(body, bytes | bytearray) else str(body or "").encode(
        (props.get("content_encoding") or "utf-8") if props.get("content_encoding") != "binary" else "utf-8")
    ident = props.get("message_id") or props.get("correlation_id") or hashlib.sha256(body).hexdigest()[:16]
    deaths = headers.get("x-death") or [{}]
    return DeadLetter(
        service=service,
        id=str(ident),
        reason=str(headers.get("x-hireloop-reason") or deaths[0].get("reason") or "unknown"),
        error=str(headers.get("x-hireloop-error") or ""),
        original_exchange=str(headers.get("x-hireloop-original-exchange") or deaths[0].get("exchange") or ""),
        original_routing_key=str(headers.get("x-hireloop-original-routing-key")
                                 or (deaths[0].get("routing-keys") or [""])[0]),
        replay_queue=_replay_queue(service, headers),
        dead_lettered_at=headers.get("x-hireloop-dead-lettered-at"),
        size=len(body),
        headers=headers,
        body=body,
        properties=dict(props),
    )


class DeadLetterQueues:
    """Reads and settles dead letters on one broker; use as a context manager."""

    def __init__(self, amqp_url: str):
        self.conn = Connection(amqp_url, connect_timeout=10)

    def __enter__(self) -> DeadLetterQueues:
        self.conn.ensure_connection(max_retries=3)
        return self

    def __exit__(self, *exc) -> None:
        self.conn.release()

    def _fetch(self, channel, service: str, limit: int) -> list[tuple[Any, DeadLetter]]:
        """Take up to `limit` messages unacknowledged; they return to the queue when `channel` closes."""
        fetched = []
        queue = topology.dead_letter_queue(service)
        while len(fetched) < limit:
            raw = channel.basic_get(queue, no_ack=False)
            if raw is None:
                break
            fetched.append((raw, _to_dead_letter(service, raw)))
        return fetched

    def count(self, service: str) -> int:
        channel = self.conn.channel()
        try:
            _, count, _ = channel.queue_declare(topology.dead_letter_queue(service), passive=True)
            return count
        finally:
            channel.close()

    def list(self, service: str, limit: int = 1000) -> list[DeadLetter]:
        channel = self.conn.channel()
        try:
            return [dl for _, dl in self._fetch(channel, service, limit)]
        finally:
            channel.close()

    def _settle(self, service: str, ids: set[str] | None, replay: bool, limit: int,
                matching: Callable[[DeadLetter], bool] | None = None) -> list[DeadLetter]:
        channel = self.conn.channel()
        done = []
        try:
            for raw, dl in self._fetch(channel, service, limit):
                if ids is not None and dl.id not in ids:
                    continue
                if matching is not None and not matching(dl):
                    continue
                if replay:
                    headers = {k: v for k, v in dl.headers.items()
                               if not k.startswith("x-hireloop-") and k not in DEAD_LETTER_HEADERS}
                    props = {k: v for k, v in dl.properties.items()
                             if k in ("content_type", "content_encoding", "message_id", "correlation_id",
                                      "reply_to", "priority", "timestamp", "type")}
                    message = channel.prepare_message(dl.body, priority=props.pop("priority", None),
                                                      content_type=props.pop("content_type", None),
                                                      content_encoding=props.pop("content_encoding", None),
                                                      headers=headers, properties={**props, "delivery_mode": 2})
                    # Waits for the broker's confirm (raises on a nack) before the dead letter is acked.
                    channel.basic_publish_confirm(message, exchange="", routing_key=dl.replay_queue,
                                                  mandatory=True, confirm_timeout=30)
                channel.basic_ack(raw.delivery_tag)
                done.append(dl)
        finally:
            channel.close()
        return done

    def replay(self, service: str, ids: set[str] | None = None, limit: int = 100000) -> list[DeadLetter]:
        return self._settle(service, ids, replay=True, limit=limit)

    def drop(self, service: str, ids: set[str] | None = None, limit: int = 100000) -> list[DeadLetter]:
        return self._settle(service, ids, replay=False, limit=limit)

    def drop_matching(self, service: str, matching: Callable[[DeadLetter], bool],
                      limit: int = 100000) -> list[DeadLetter]:
        """Drop the dead letters `matching` accepts (an erasure removes a candidate's); the rest go back."""
        return self._settle(service, None, replay=False, limit=limit, matching=matching)


def purge_dead_letters(amqp_uri: str, service: str, needles: list[str]) -> int:
    """An erasure's part in the broker (shared/erasure.py): drop the service's dead letters that mention the
    candidate (`needles`: ids, an address); the others stay, untouched."""
    with DeadLetterQueues(amqp_uri) as queues:
        return len(queues.drop_matching(service, lambda dl: mentions_any(dl.body, needles)))


def _services(arg: str | None) -> tuple[str, ...]:
    if arg and arg not in SERVICES:
        raise SystemExit(f"unknown service '{arg}'; one of: {', '.join(SERVICES)}")
    return (arg,) if arg else SERVICES


def main(argv: list[str] | None = None) -> int:
    from shared.config import Settings

    parser = argparse.ArgumentParser(prog="python -m shared.bus.dlq", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="count and list dead letters")
    p_list.add_argument("--service")
    p_list.add_argument("--limit", type=int, default=50, help="messages listed per service")
    p_list.add_argument("--json", action="store_true")
    p_inspect = sub.add_parser("inspect", help="headers and body of one dead letter")
    p_inspect.add_argument("service")
    p_inspect.add_argument("id")
    for name, help_text in (("replay", "put dead letters back on their queue"), ("drop", "delete dead letters")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("service")
        p.add_argument("ids", nargs="*")
        p.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)

    with DeadLetterQueues(Settings.from_env().rabbit_url) as dlq:
        if args.command == "list":
            report = {}
            for service in _services(args.service):
                report[service] = {"count": dlq.count(service),
                                   "messages": [d.summary() for d in dlq.list(service, args.limit)]}
            if args.json:
                print(json.dumps(report, indent=2, default=str))
                return 0
            for service, entry in report.items():
                print(f"{topology.dead_letter_queue(service)}: {entry['count']} dead letter(s)")
                for d in entry["messages"]:
                    print(f"  {d['id']}  {d['reason']:<16} {d['original_routing_key'] or '-':<28} "
                          f"{d['size']:>9} B  {d['error'][:90]}")
            return 0
        if args.command == "inspect":
            _services(args.service)
            found = [d for d in dlq.list(args.service) if d.id == args.id]
            if not found:
                print(f"no dead letter {args.id} in {topology.dead_letter_queue(args.service)}", file=sys.stderr)
                return 1
            for d in found:
                print(json.dumps({**d.summary(), "headers": d.headers, "properties": d.properties},
                                 indent=2, default=str))
                print("body:")
                print(d.body_text())
            return 0
        _services(args.service)
        if not args.ids and not args.all:
            parser.error(f"{args.command}: give dead-letter IDs or --all")
        ids = None if args.all else set(args.ids)
        done = (dlq.replay if args.command == "replay" else dlq.drop)(args.service, ids)
        verb = "replayed" if args.command == "replay" else "dropped"
        for d in done:
            print(f"{verb} {d.id} -> {d.replay_queue if args.command == 'replay' else '(deleted)'}")
        print(f"{len(done)} dead letter(s) {verb}")
        if ids is not None and len({d.id for d in done}) < len(ids):
            missing = ids - {d.id for d in done}
            print(f"not found: {', '.join(sorted(missing))}", file=sys.stderr)
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
