"""Opaque, time-ordered ids: sorting by id is sorting by creation, which keeps cursors simple.

`<prefix>_<12 hex: milliseconds><12 hex: random>`. Within one process ids are strictly increasing even
inside one millisecond (the random part is incremented, as monotonic ULIDs do); across processes they
are ordered to the millisecond.
"""

from __future__ import annotations

import secrets
import threading
import time

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
