"""Live pipeline boards: sourcing's `application_status_changed` events, fanned out to the console's
server-sent-event streams of the requisition they concern. Like every consumer, the listener verifies
each event's signature (shared/event_signing.py) and drops what is unsigned, forged or stale.

One listener per gateway process, started by the first board that is watched. A stream carries ids and
statuses only, never personal data; on each event the page fetches the board again through the API, so
what it shows is always what the viewer's key may read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict

from shared import event_signing
from shared.bus.topology import STATUS_CHANGED, events_exchange, every_key
from shared.config import Settings
from shared.contracts.events import EVENT_MODELS
from shared.timeutil import utcnow

log = logging.getLogger("hireloop.console")
QUEUE_SIZE = 100  # a stream that stops reading loses events (the page re-reads the whole board anyway)


class BoardFeed:
    def __init__(self, rpc, settings: Settings):
        self._rpc = rpc
        # Events are verified like every consumer does (HIRELOOP_EVENT_PUBLIC_KEYS, the maximum age).
        self._public_keys = settings.event_public_keys
        self._max_age_seconds = settings.event_max_age_seconds
        self._watchers: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._started: asyncio.Task | None = None

    async def _ensure_started(self) -> None:
        if self._started is None:
            self._started = asyncio.ensure_future(self._rpc.listen(
                events_exchange("sourcing"), [every_key(STATUS_CHANGED)], self._on_event))
        try:
            await asyncio.shield(self._started)
        except Exception:
            self._started = None  # the next board watched tries again
            raise

    async def _on_event(self, message) -> None:
        try:
            envelope = json.loads(message.body)
            if not isinstance(envelope, dict):
                raise ValueError("not an object")
            event_signing.verify_envelope(envelope, self._public_keys, EVENT_MODELS, utcnow(),
                                          self._max_age_seconds)
        except event_signing.EventRefused as exc:
            log.warning("refused an event on the live feed", extra={"reason": exc.reason, "error": str(exc)})
            return
        except ValueError:
            log.warning("unreadable status event on the live feed")
            return
        try:
            payload = envelope["payload"]
            change = {"application_id": payload["application_id"], "status": payload["status"],
                      "previous_status": payload.get("previous_status")}
            requisition_id = payload["requisition_id"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable status event on the live feed")
            return
        for queue in list(self._watchers.get(requisition_id, ())):
            if queue.full():
                continue
            queue.put_nowait(change)

    async def watch(self, requisition_id: str) -> asyncio.Queue:
        await self._ensure_started()
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self._watchers[requisition_id].add(queue)
        return queue

    def unwatch(self, requisition_id: str, queue: asyncio.Queue) -> None:
        watchers = self._watchers.get(requisition_id)
        if watchers is not None:
            watchers.discard(queue)
            if not watchers:
                del self._watchers[requisition_id]
