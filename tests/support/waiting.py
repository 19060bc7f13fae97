import time


def wait_for(fetch, predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll `fetch()` until `predicate(value)` holds; return the value. Fails with the last value seen.

    Every 0.1 s: the end-to-end tests wait for hundreds of asynchronous steps one after another, and each wait
    overshoots by half an interval on average; a poll is one cheap read."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if predicate(value):
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
