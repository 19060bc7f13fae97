"""`python -m gateway`: serve the API on GATEWAY_HOST:GATEWAY_PORT (default 127.0.0.1:8000)."""

import math
import sys

import uvicorn

from shared.config import Settings
from shared.logs import setup_logging

if __name__ == "__main__":
    try:
        settings = Settings.from_env()  # the one read of the environment in this process
        setup_logging("gateway", settings.log_level)
        if settings.gateway_workers > 1:
            # Each worker is a process of its own that makes its app, and its settings, at its start.
            app = "gateway.app:create_app"
        else:
            from gateway.app import create_app

            app = create_app(settings)
    except ValueError as exc:  # e.g. RATE_LIMIT_KEY=fast: say which setting, without a traceback
        sys.exit(f"hireloop gateway: bad configuration: {exc}")
    uvicorn.run(app, factory=isinstance(app, str), host=settings.gateway_host, port=settings.gateway_port,
                log_config=None,
                # Our own access log (gateway.telemetry): route templates, trace ids, no client address.
                access_log=False,
                # The client address is the peer's; X-Forwarded-For is read by the gateway itself, only from
                # TRUSTED_PROXIES (gateway/ratelimit.py). uvicorn's default would believe it from 127.0.0.1.
                proxy_headers=False,
                # Open console boards (server-sent events) never end by themselves: past this, stop anyway.
                timeout_graceful_shutdown=math.ceil(settings.shutdown_grace),
                workers=settings.gateway_workers)
