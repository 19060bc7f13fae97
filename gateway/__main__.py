"""`python -m gateway`: serve the API on GATEWAY_PORT (default 8000)."""

import os
import sys

import uvicorn

from shared.config import load
from shared.logs import setup_logging

if __name__ == "__main__":
    try:
        settings = load()
    except ValueError as exc:  # e.g. RATE_LIMIT_KEY=fast: say which setting, without a traceback
        sys.exit(f"hireloop gateway: bad configuration: {exc}")
    setup_logging("gateway", settings.log_level)
    uvicorn.run("gateway.app:create_app", factory=True, host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
                port=int(os.environ.get("GATEWAY_PORT", "8000")), log_config=None,
                # Our own access log (gateway.telemetry): route templates, trace ids, no client address.
                access_log=False,
                # The client address is the peer's; X-Forwarded-For is read by the gateway itself, only from
                # TRUSTED_PROXIES (gateway/ratelimit.py). uvicorn's default would believe it from 127.0.0.1.
                proxy_headers=False,
                # Open console boards (server-sent events) never end by themselves: past this, stop anyway.
                timeout_graceful_shutdown=int(os.environ.get("SHUTDOWN_GRACE", "20")),
                workers=int(os.environ.get("GATEWAY_WORKERS", "1")))
