"""Opaque, time-ordered ids: sorting by id is sorting by creation, which keeps cursors simple.

`<prefix>_<12 hex: milliseconds><12 hex: random>`. Within one process ids are strictly increasing even
inside one millisecond (the random part is incremented, as monotonic ULIDs do); across processes they
are ordered to the millisecond.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime

_lock = threading.Lock()
_last = (0, 0)


def new_id(prefix: str) -> str:
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        last_ms, last_random = _last
        if ms <= last_ms:
            ms, random = last_ms, last_random + 1
        else:
            random = secrets.randbits(47)  # headroom for increments within the millisecond
        _last = (ms, random)
    return f"{prefix}_{ms:012x}{random:012x}"


def created_at(object_id: object, prefix: str) -> datetime | None:
    """When `new_id(prefix)` made `object_id` (to the millisecond); None for a string it cannot have made."""
    if not isinstance(object_id, str):
        return None
    head, _, tail = object_id.rpartition("_")
    if head != prefix or len(tail) != 24 or not all(c in "0123456789abcdef" for c in tail):
        return None
    try:
        return datetime.fromtimestamp(int(tail[:12], 16) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
