"""Every setting of every hireloop process, in one typed object, read from the environment in one place.

A process makes its `Settings` once, at start (`Settings.from_env()`: the gateway's `create_app`, a service's
`run_service`, the launcher, each command-line tool) and passes it down: nameko extensions and workers get
it from the container's config (shared/bus/configured.py), the gateway from `app.state.settings`. No other
module reads the environment (tests/unit/test_settings.py checks it). `Settings()` is the development
defaults, for tests that pass settings explicitly (`dataclasses.replace(Settings(), namespace=...)`).

Each field names its variable (`env`); an empty variable counts as unset. A value that does not parse stops
the process at start with a message naming the variable, never silently falls back to the default.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from shared import event_signing
from shared.contracts.common import SERVICES

DEV_SECRET = "hireloop-dev-secret-change-me"
BROKER_PASSWORD_PREFIX = "BROKER_PASSWORD_"  # BROKER_PASSWORD_<USER>: passwords of the broker users to make


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


def parse_ratio(name: str, value: str) -> float:
    """A share from 0 to 1 (e.g. OTEL_TRACES_SAMPLER_ARG)."""
    try:
        ratio = float(value.strip())
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"{name}: expected a ratio from 0 to 1, got {value!r}")
    return ratio


def _integer(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be an integer, not {value!r}") from None
        if number < minimum:
            raise ValueError(f"{name} must be at least {minimum}, not {number}")
        return number
    return parse


def _seconds(name: str, value: str, *, zero: bool = False) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None
    if not (number >= 0 if zero else number > 0):
        raise ValueError(f"{name} must be {'0 or more' if zero else 'above 0'}, not {value!r}")
    return number


def _grace(name: str, value: str) -> float:
    return _seconds(name, value, zero=True)


def _text(_name: str, value: str) -> str:
    return value


_DIVISION_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")  # shared/contracts/common.py Division


def parse_divisions(name: str, value: str) -> tuple[str, ...]:
    """Comma-separated division ids (slugs), de-duplicated in their order."""
    ids = [part.strip() for part in value.split(",") if part.strip()]
    bad = [i for i in ids if not _DIVISION_ID.match(i)]
    if bad:
        raise ValueError(f"{name}={value!r}: {bad[0]!r} is not a division id (letters, digits, '_', '.', '-')")
    return tuple(dict.fromkeys(ids))


def _port_or_none(_name: str, value: str) -> int | None:
    # As before: unset, 0 or anything but a positive number means "no metrics server" (services in tests).
    text = value.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _true(_name: str, value: str) -> bool:
    return value.strip().lower() == "true"


def with_broker_user(url: str, username: str | None, password: str | None) -> str:
    """RABBIT_URL with the credentials of BROKER_USERNAME / BROKER_PASSWORD when given: each process's own
    least-privilege broker user (shared/bus/topology.py broker_users), e.g. from a Kubernetes Secret the
    RabbitMQ topology operator writes, while RABBIT_URL names the broker and vhost."""
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


def variable(name: str, parse: Callable[[str, str], Any] = _text, **kwargs: Any) -> Any:
    """A field read from the environment variable `name` by `Settings.from_env`, parsed by `parse(name, raw)`."""
    return field(metadata={"env": name, "parse": parse}, **kwargs)


@dataclass(frozen=True)
class Settings:
    # -- where things are --------------------------------------------------------------------------------
    # With BROKER_USERNAME / BROKER_PASSWORD set, from_env puts that user's credentials in this URL.
    rabbit_url: str = variable("RABBIT_URL", default="amqp://guest:guest@127.0.0.1:5672/")
    # The RabbitMQ management API, for `python -m shared.bus.topology --users` (default: the broker's :15672).
    rabbit_management_url: str = variable("RABBIT_MANAGEMENT_URL", default="")
    redis_url: str = variable("REDIS_URL", default="redis://127.0.0.1:6379/0")
    # Empty means "no MongoDB given": the launcher and the tests start the embedded default.
    mongo_url: str = variable("MONGO_URL", default="")
    # The embedded MongoDB's port when run by itself (`python -m infra.embedded_mongo`; 0: any free one).
    embedded_mongo_port: int = variable("MONGO_PORT", _integer(0), default=0)
    smtp_url: str = variable("SMTP_URL", default="smtp://127.0.0.1:1025")
    mail_from: str = variable("MAIL_FROM", default="hireloop <no-reply@hireloop.local>")
    # Base of the portal links in candidates' emails.
    public_url: str = variable("PUBLIC_URL", default="http://localhost:8000")
    # Prefix for every database name and Redis key, so test runs and deployments never collide.
    namespace: str = variable("HIRELOOP_NAMESPACE", default="hireloop")
    # "declare": every service declares the whole topology at start (`make run`, tests). "predeclared": the
    # operator imported it and processes run as least-privilege broker users (shared/bus/topology.py).
    broker_topology: str = variable("BROKER_TOPOLOGY", default="declare")
    # Passwords of the broker users `python -m shared.bus.topology --users` makes: {user: password}, from
    # BROKER_PASSWORD_<USER> (e.g. BROKER_PASSWORD_SOURCING). Read by from_env, not a single variable.
    broker_user_passwords: Mapping[str, str] = field(default_factory=lambda: {}, repr=False)

    # -- secrets ---------------------------------------------------------------------------------------
    # Signs the caller context the gateway hands to services, and candidate portal tokens.
    context_secret: str = variable("HIRELOOP_CONTEXT_SECRET", default=DEV_SECRET, repr=False)
    portal_secret: str = variable("HIRELOOP_PORTAL_SECRET", default=DEV_SECRET + "-portal", repr=False)
    # The bootstrap admin API key (the gateway makes it an admin key at start; empty: none).
    admin_key: str = variable("HIRELOOP_ADMIN_KEY", default="", repr=False)
    # Divisions registered at start-up when they have no record yet (sourcing; comma-separated ids), as
    # HIRELOOP_ADMIN_KEY bootstraps a key: requisitions, keys and policies may name only registered divisions.
    divisions: tuple[str, ...] = variable("HIRELOOP_DIVISIONS", parse_divisions, default=())
    # Keys sealing personal data at rest (shared/crypto.py); empty: the development keys.
    data_keys: str = variable("HIRELOOP_DATA_KEYS", default="", repr=False)
    lookup_key: str = variable("HIRELOOP_LOOKUP_KEY", default="", repr=False)
    # Event signatures (shared/event_signing.py, docs/architecture.md "Signed events"). A service signs the
    # events it publishes with its own private key `<kid>:<base64 Ed25519 seed>` (each service process gets
    # only its own; the gateway none) and verifies every event it consumes against every producer's public
    # keys `<producer>:<kid>:<base64 public key>, ...` (two per producer while a key rotates). Events older
    # than the maximum age are refused as stale. `make run` generates development keys in var/keys/.
    event_signing_key: event_signing.SigningKey | None = variable(
        event_signing.SIGNING_KEY_VAR, lambda name, value: event_signing.parse_signing_key(value, name),
        default=None, repr=False)
    event_public_keys: Mapping[str, event_signing.PublicKey] = variable(
        event_signing.PUBLIC_KEYS_VAR, lambda name, value: event_signing.parse_public_keys(value, name),
        default_factory=lambda: {}, repr=False)
    event_max_age_seconds: int = variable(event_signing.MAX_AGE_VAR,
                                     lambda name, value: event_signing.parse_max_age(value, name),
                                     default=event_signing.DEFAULT_MAX_AGE_SECONDS)

    # Single sign-on to the console with the company's OpenID Connect provider (gateway/console/sso.py): its
    # discovery document (`<issuer>/.well-known/openid-configuration`, or the issuer, which that is appended
    # to), the client id and secret registered there. Off while the metadata URL or client id is unset.
    oidc_metadata_url: str = variable("OIDC_METADATA_URL", default="")
    oidc_client_id: str = variable("OIDC_CLIENT_ID", default="")
    oidc_client_secret: str = variable("OIDC_CLIENT_SECRET", default="", repr=False)

    # -- processes -------------------------------------------------------------------------------------
    version: str = variable("HIRELOOP_VERSION", default="0.1.0")
    log_level: str = variable("LOG_LEVEL", default="INFO")
    # Seconds the gateway waits for a service (then 503), and services for each other.
    rpc_timeout: float = variable("RPC_TIMEOUT", _seconds, default=10.0)
    max_workers: int = variable("MAX_WORKERS", _integer(1), default=10)
    # Seconds a stopping process lets in-flight work finish.
    shutdown_grace: float = variable("SHUTDOWN_GRACE", _grace, default=20.0)
    # A service's Prometheus port; None (unset, 0): no metrics server (services run inside tests).
    metrics_port: int | None = variable("METRICS_PORT", _port_or_none, default=None)
    gateway_host: str = variable("GATEWAY_HOST", default="127.0.0.1")
    gateway_port: int = variable("GATEWAY_PORT", _integer(0), default=8000)
    gateway_workers: int = variable("GATEWAY_WORKERS", _integer(1), default=1)
    # `make run` (infra/run.py): its var directory, the first service metrics port, replicas per service
    # (SCALE_<SERVICE>, e.g. SCALE_SCREENING=2; read by from_env for each service).
    var_dir: str = variable("HIRELOOP_VAR_DIR", default="var")
    metrics_base_port: int = variable("METRICS_BASE_PORT", _integer(1), default=9101)
    scale: Mapping[str, int] = field(default_factory=lambda: {s: 1 for s in SERVICES})

    # -- tracing (shared/tracing) ------------------------------------------------------------------------
    # An OTLP/HTTP collector: its base URL (spans go to <base>/v1/traces), or the traces URL itself, which
    # wins (OpenTelemetry's variables). Without one, spans go to the JSON-lines file, and without that nowhere.
    otlp_endpoint: str = variable("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
    otlp_traces_endpoint: str = variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", default="")
    traces_file: str = variable("HIRELOOP_TRACES_FILE", default="")
    tracing_disabled: bool = variable("OTEL_SDK_DISABLED", _true, default=False)
    # Share of root traces kept (shared/tracing/sampling.py).
    traces_sample_ratio: float = variable("OTEL_TRACES_SAMPLER_ARG", parse_ratio, default=1.0)
    # One span per MongoDB command (OpenTelemetry's PyMongo instrumentation): off by default, since it was a
    # large share of every service's CPU (issue 17); `true` to see each store call in a trace while debugging.
    trace_db_commands: bool = variable("HIRELOOP_TRACE_DB_COMMANDS", _true, default=False)

    # -- the product ---------------------------------------------------------------------------------------
    # Talent pool retention for pooled candidates, in days.
    pool_retention_days: int = variable("POOL_RETENTION_DAYS", _integer(0), default=365)
    # Default retention of candidates whose applications all ended in rejection (per-division policies in
    # sourcing override it, and POOL_RETENTION_DAYS for passed candidates with talent-pool consent).
    retention_rejected_days: int = variable("RETENTION_REJECTED_DAYS", _integer(0), default=180)
    # How often sourcing's retention sweep looks for candidates past their retention.
    retention_sweep_seconds: float = variable("RETENTION_SWEEP_SECONDS", _seconds, default=3600.0)
    # How often sourcing takes requisitions whose `closes_at` has passed off the careers site (their `published`
    # flag and history; the site's reads hide them from that moment anyway).
    posting_sweep_seconds: float = variable("POSTING_SWEEP_SECONDS", _seconds, default=60.0)
    # How long screening waits for the reading of an application's CV (sourcing's `document_read`) before it
    # screens on the skills typed (services/screening/service.py screen_waiting).
    cv_read_wait_seconds: float = variable("CV_READ_WAIT_SECONDS", _seconds, default=300.0)
    # Notice delivery retries: the first back-off (then x4) and the attempts before a notice fails
    # (services/notification/domain.py BACKOFF_BASE_SECONDS, MAX_ATTEMPTS).
    notify_backoff_base_seconds: int = variable("NOTIFY_BACKOFF_BASE_SECONDS", _integer(1), default=5)
    notify_max_attempts: int = variable("NOTIFY_MAX_ATTEMPTS", _integer(1), default=5)
    # Where candidates' replies go when a division's notification policy names no `reply_to`/`hr_email`.
    candidate_reply_to: str = variable("CANDIDATE_REPLY_TO", default="")
    # Internal webhook destinations an operator allows (services/notification/destinations.py): host names,
    # addresses and CIDR networks, comma-separated. Empty (the default): only public https destinations.
    webhook_allowed_hosts: str = variable("WEBHOOK_ALLOWED_HOSTS", default="")
    # Gateway rate limits (token buckets in Redis, shared by every replica): per API key, and per division
    # for division-scoped keys. "<requests per second>/<burst>" or "off".
    rate_limit_key: Rate | None = variable("RATE_LIMIT_KEY", parse_rate, default=Rate(20, 100))
    rate_limit_division: Rate | None = variable("RATE_LIMIT_DIVISION", parse_rate, default=Rate(100, 500))
    # Routes without an API key (candidate portal, console sign-in), per client address.
    rate_limit_anonymous: Rate | None = variable("RATE_LIMIT_ANONYMOUS", parse_rate, default=Rate(2, 30))
    # Applications from the careers site and the public API, per client address, on top of the anonymous
    # limit: a person applies a few times a day, a script hundreds (default 18 an hour, 5 at once).
    rate_limit_apply: Rate | None = variable("RATE_LIMIT_APPLY", parse_rate, default=Rate(0.005, 5))
    # Addresses of reverse proxies in front of the gateway (comma-separated IPs or CIDRs): only a request
    # from one of them has its client address taken from X-Forwarded-For. Empty: the peer's address.
    trusted_proxies: str = variable("TRUSTED_PROXIES", default="")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings `environ` (default: this process's environment) gives; unset or empty variables keep
        their defaults. Raises ValueError naming the variable of a value that does not parse."""
        source = os.environ if environ is None else environ

        def given(name: str) -> str | None:
            value = source.get(name)
            return value if value not in (None, "") else None

        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = f.metadata.get("env")
            raw = given(name) if name else None
            if raw is not None:
                values[f.name] = f.metadata["parse"](name, raw)
        values["rabbit_url"] = with_broker_user(values.get("rabbit_url", cls.rabbit_url),
                                                given("BROKER_USERNAME"), given("BROKER_PASSWORD"))
        values["broker_user_passwords"] = {key[len(BROKER_PASSWORD_PREFIX):].lower(): value
                                           for key, value in source.items()
                                           if key.startswith(BROKER_PASSWORD_PREFIX) and value}
        values["scale"] = {s: _integer(0)(f"SCALE_{s.upper()}", given(f"SCALE_{s.upper()}") or "1")
                           for s in SERVICES}
        return cls(**values)

    @property
    def otlp_traces_url(self) -> str:
        """Where spans go over OTLP/HTTP; empty: not over OTLP."""
        if self.otlp_traces_endpoint:
            return self.otlp_traces_endpoint
        return self.otlp_endpoint.rstrip("/") + "/v1/traces" if self.otlp_endpoint else ""

    @property
    def predeclared_topology(self) -> bool:
        """BROKER_TOPOLOGY=predeclared: the operator imported the topology (`definitions()`) and processes run
        as users that may not declare it; they declare nothing but their own reply queues."""
        return self.broker_topology == "predeclared"

    def database_name(self, owner: str) -> str:
        """Each service (and the gateway) owns one database; nobody reads another's."""
        return f"{self.namespace}_{owner}"

    def redis_key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))
