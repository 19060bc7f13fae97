"""The event envelope: every event on the bus is one of these, JSON-encoded.

Consumers de-duplicate by `event_id` (at-least-once delivery means duplicates) and follow a causal
chain by `correlation_id` (the gateway request that started it) and `causation_id` (the event or
command that directly caused this one). `signature` is the producer's Ed25519 signature over the other
fields, `{kid, value}`, added when the event is published (shared/event_signing.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.ids import new_id
from shared.timeutil import utcnow

ENVELOPE_VERSION = 1


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(default_factory=lambda: new_id("evt"))
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str
    correlation_id: str | None = None
    causation_id: str | None = None
    payload: dict[str, Any]
    signature: dict[str, str] | None = None
