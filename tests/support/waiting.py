import time


def wait_for(fetch, predicate, timeout: float = 20.0, interval: float = 0.2, what: str = "condition"):
    """Poll `fetch()` until `predicate(value)` holds; return the value. Fails with the last value seen."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if predicate(value):
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
