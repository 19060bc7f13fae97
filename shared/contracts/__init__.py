"""Typed, versioned message contracts shared by the gateway and every service.

- `envelope`: the wrapper every event travels in (id, type, version, occurred_at, producer, correlation id).
- `events`: one pydantic model per event type; `EVENT_MODELS` maps (producer, type) to it.
- `commands`: request bodies, validated the same way at the gateway and in the owning service.
- `common`: value types and enums used by both.
"""
