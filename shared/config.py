"""Settings read from the environment, in one place, so every process agrees on names and defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEV_SECRET = "hireloop-dev-secret-change-me"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    rabbit_url: str = field(default_factory=lambda: _env("RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", "redis://127.0.0.1:6379/0"))
    # Empty means "no MongoDB given": the launcher and the tests start the embedded default.
    mongo_url: str = field(default_factory=lambda: _env("MONGO_URL", ""))
    # Prefix for every database name and Redis key, so test runs and deployments never collide.
    namespace: str = field(default_factory=lambda: _env("HIRELOOP_NAMESPACE", "hireloop"))
    smtp_url: str = field(default_factory=lambda: _env("SMTP_URL", "smtp://127.0.0.1:1025"))
    mail_from: str = field(default_factory=lambda: _env("MAIL_FROM", "hireloop <no-reply@hireloop.local>"))
    public_url: str = field(default_factory=lambda: _env("PUBLIC_URL", "http://localhost:8000"))
    # Signs the caller context the gateway hands to services, and candidate portal tokens.
    context_secret: str = field(default_factory=lambda: _env("HIRELOOP_CONTEXT_SECRET", DEV_SECRET))
    portal_secret: str = field(default_factory=lambda: _env("HIRELOOP_PORTAL_SECRET", DEV_SECRET + "-portal"))
    rpc_timeout: float = field(default_factory=lambda: float(_env("RPC_TIMEOUT", "10")))
    max_workers: int = field(default_factory=lambda: int(_env("MAX_WORKERS", "10")))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))
    # Talent pool retention for pooled candidates, in days.
    pool_retention_days: int = field(default_factory=lambda: int(_env("POOL_RETENTION_DAYS", "365")))

    def database_name(self, owner: str) -> str:
        """Each service (and the gateway) owns one database; nobody reads another's."""
        return f"{self.namespace}_{owner}"

    def redis_key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))


def load() -> Settings:
    return Settings()
