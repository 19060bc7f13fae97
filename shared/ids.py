"""Opaque, time-ordered ids: sorting by id is sorting by creation, which keeps cursors simple."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"
