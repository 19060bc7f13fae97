"""Settings read from the environment, in one place, so every process agrees on names and defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared import event_signing

DEV_SECRET = "hireloop-dev-secret-change-me"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Rate:
    """A token bucket's size: `per_second` requests on average, up to `burst` at once."""

    per_second: float
    burst: int

    def __str__(self) -> str:
        return f"{self.per_second:g}/{self.burst}"


_RATE = re.compile(r"(\d+(?:\.\d+)?)/(\d+)")


def parse_rate(name: str, value: str) -> Rate | None:
    """`"<requests per second>/<burst>"` (e.g. `"20/100"`, `"0.5/10"`) or `"off"` (None: no limit).

    Strict: anything else raises ValueError naming the variable, so a typo stops the process at start
    instead of silently running without the limit."""
    text = value.strip()
    if text.lower() == "off":
        return None
    match = _RATE.fullmatch(text)
    rate = float(match.group(1)) if match else 0.0
    burst = int(match.group(2)) if match else 0
    if not match or rate <= 0 or burst < 1:
        raise ValueError(f"{name}={value!r}: expected '<requests per second>/<burst>' with a rate above 0 and a "
                         f"burst of at least 1 (e.g. '20/100'), or 'off'")
    return Rate(rate, burst)


def _broker_url(url: str) -> str:
    """RABBIT_URL, with the credentials of BROKER_USERNAME / BROKER_PASSWORD when given: each process's own
    least-privilege broker user (shared/bus/topology.py broker_users), e.g. from a Kubernetes Secret the
    RabbitMQ topology operator writes, while RABBIT_URL names the broker and vhost."""
    from urllib.parse import quote, urlsplit, urlunsplit

    username, password = os.environ.get("BROKER_USERNAME"), os.environ.get("BROKER_PASSWORD")
    if not username:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(username, safe='')}:{quote(password or '', safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class Settings:
    rabbit_url: str = field(default_factory=lambda: _broker_url(_env("RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/")))
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
    # "declare": every service declares the whole topology at start (`make run`, tests). "predeclared": the
    # operator imported it and processes run as least-privilege broker users (shared/bus/topology.py).
    broker_topology: str = field(default_factory=lambda: _env("BROKER_TOPOLOGY", "declare"))
    rpc_timeout: float = field(default_factory=lambda: float(_env("RPC_TIMEOUT", "10")))
    max_workers: int = field(default_factory=lambda: int(_env("MAX_WORKERS", "10")))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))
    # Talent pool retention for pooled candidates, in days.
    pool_retention_days: int = field(default_factory=lambda: int(_env("POOL_RETENTION_DAYS", "365")))
    # Default retention of candidates whose applications all ended in rejection (per-division policies in
    # sourcing override it, and POOL_RETENTION_DAYS for passed candidates with talent-pool consent).
    retention_rejected_days: int = field(default_factory=lambda: int(_env("RETENTION_REJECTED_DAYS", "180")))
    # Gateway rate limits (token buckets in Redis, shared by every replica): per API key, and per division
    # for division-scoped keys. "<requests per second>/<burst>" or "off".
    rate_limit_key: Rate | None = field(
        default_factory=lambda: parse_rate("RATE_LIMIT_KEY", _env("RATE_LIMIT_KEY", "20/100")))
    rate_limit_division: Rate | None = field(
        default_factory=lambda: parse_rate("RATE_LIMIT_DIVISION", _env("RATE_LIMIT_DIVISION", "100/500")))
    # Routes without an API key (candidate portal, console sign-in), per client address.
    rate_limit_anonymous: Rate | None = field(
        default_factory=lambda: parse_rate("RATE_LIMIT_ANONYMOUS", _env("RATE_LIMIT_ANONYMOUS", "2/30")))
    # Addresses of reverse proxies in front of the gateway (comma-separated IPs or CIDRs): only a request
    # from one of them has its client address taken from X-Forwarded-For. Empty: the peer's address.
    trusted_proxies: str = field(default_factory=lambda: _env("TRUSTED_PROXIES", ""))
    # Where candidates' replies go when a division's notification policy names no `reply_to`/`hr_email`.
    candidate_reply_to: str = field(default_factory=lambda: _env("CANDIDATE_REPLY_TO", ""))
    # Internal webhook destinations an operator allows (services/notification/destinations.py): host names,
    # addresses and CIDR networks, comma-separated. Empty (the default): only public https destinations.
    webhook_allowed_hosts: str = field(default_factory=lambda: _env("WEBHOOK_ALLOWED_HOSTS", ""))
    # Event signatures (shared/event_signing.py, docs/architecture.md "Signed events"). A service signs the
    # events it publishes with its own private key `<kid>:<base64 Ed25519 seed>` (each service process gets
    # only its own; the gateway none) and verifies every event it consumes against every producer's public
    # keys `<producer>:<kid>:<base64 public key>, ...` (two per producer while a key rotates). Events older
    # than the maximum age are refused as stale. `make run` generates development keys in var/keys/.
    event_signing_key: event_signing.SigningKey | None = field(
        default_factory=lambda: event_signing.parse_signing_key(_env(event_signing.SIGNING_KEY_VAR, "")),
        repr=False)
    event_public_keys: Mapping[str, event_signing.PublicKey] = field(
        default_factory=lambda: event_signing.parse_public_keys(_env(event_signing.PUBLIC_KEYS_VAR, "")),
        repr=False)
    event_max_age_seconds: int = field(default_factory=lambda: event_signing.parse_max_age(
        _env(event_signing.MAX_AGE_VAR, str(event_signing.DEFAULT_MAX_AGE_SECONDS))))

    def database_name(self, owner: str) -> str:
        """Each service (and the gateway) owns one database; nobody reads another's."""
        return f"{self.namespace}_{owner}"

    def redis_key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))


def load() -> Settings:
    return Settings()
