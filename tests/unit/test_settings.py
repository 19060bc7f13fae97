"""One Settings (shared/config.py), made once per process at its start and passed down.

- Nothing but shared/config.py reads the environment (read from the source: `os.environ`, `os.getenv`,
  `from os import environ/getenv`), except the few places allowed below, each saying why.
- `Settings.from_env` is called only where a process starts (its entry point), never to look a value up.
- Variable names and defaults are those the docs, compose files, manifests and tests set.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from shared import event_signing
from shared.config import Rate, Settings

ROOT = Path(__file__).resolve().parents[2]

# Modules that may read the environment themselves, and why.
READS_ENVIRONMENT = {
    # The one place settings are read.
    "shared/config.py": "Settings.from_env",
    # `make run` hands the processes it starts its own environment plus what it adds (ports, keys, MONGO_URL):
    # it copies the environment whole to build theirs, and reads its own settings from that copy.
    "infra/run.py": "builds its children's environments",
    # The benchmark starts the raw nameko echo service with the environment plus the benchmark's broker.
    "bench/scenarios.py": "builds a child's environment",
    # `make bench`'s own switches (BENCH_QUICK, BENCH_ONLY) as defaults of its command-line flags: how to run
    # the benchmark, not a setting of any hireloop process.
    "bench/__main__.py": "the benchmark tool's command-line defaults",
}

# Where a process starts, so where its Settings are made (once).
ENTRY_POINTS = {
    "gateway/__main__.py",  # `python -m gateway`
    "gateway/app.py",  # create_app() without settings: each uvicorn worker process (GATEWAY_WORKERS > 1)
    "shared/bus/runner.py",  # run_service: every service process
    "shared/bus/topology.py",  # `python -m shared.bus.topology`
    "shared/bus/dlq.py",  # `python -m shared.bus.dlq`
    "shared/bus/healthcheck.py",  # `python -m shared.bus.healthcheck`
    "infra/run.py",  # `make run`
    "infra/embedded_mongo.py",  # `python -m infra.embedded_mongo`
    "bench/__main__.py",  # `make bench`
    "bench/echo_service.py",  # the benchmark's raw nameko service
}


def project_modules() -> list[Path]:
    """Every Python module of the product and its tools; tests (which set up environments for the processes
    they start) are not."""
    found = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "var", "tests", "node_modules") or "tests" in rel.parts[:-1]:
            continue
        if rel.name == "conftest.py" or rel.parts[0].startswith("."):
            continue
        found.append(rel)
    return sorted(found)


def reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb", "putenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and \
                {a.name for a in node.names} & {"environ", "getenv", "environb"}:
            lines.append(node.lineno)
    return lines


def calls_from_env(tree: ast.AST) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "from_env"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "Settings"]


def test_only_shared_config_reads_the_environment():
    modules = project_modules()
    assert len(modules) > 100 and Path("gateway/app.py") in modules and Path("shared/config.py") in modules
    offenders = {}
    for rel in modules:
        lines = reads_environment(ast.parse((ROOT / rel).read_text()))
        if lines and str(rel) not in READS_ENVIRONMENT:
            offenders[str(rel)] = lines
    assert offenders == {}, "read settings from Settings (shared/config.py), passed down from the process start"
    for rel in READS_ENVIRONMENT:  # the allow-list holds nothing that no longer reads it
        assert reads_environment(ast.parse((ROOT / rel).read_text())), rel


def test_the_check_sees_every_way_of_reading_the_environment():
    for source in ("import os\nx = os.environ['A']", "import os\nx = os.getenv('A')",
                   "from os import environ", "from os import getenv as g", "import os\nx = dict(os.environ)"):
        assert reads_environment(ast.parse(source)), source
    assert not reads_environment(ast.parse("env = {}\nx = env.get('A')"))


def test_settings_are_made_only_where_a_process_starts():
    made = {str(rel) for rel in project_modules() if calls_from_env(ast.parse((ROOT / rel).read_text()))}
    assert made - ENTRY_POINTS == set(), "take the Settings the process made at start, don't make new ones"
    assert made == ENTRY_POINTS  # and the list above is true


def test_unset_or_empty_variables_give_the_documented_defaults():
    defaults = Settings()
    assert Settings.from_env({}) == defaults
    assert Settings.from_env({f.metadata["env"]: "" for f in dataclasses.fields(Settings)
                              if "env" in f.metadata}) == defaults
    assert (defaults.rabbit_url, defaults.redis_url, defaults.mongo_url) == (
        "amqp://guest:guest@127.0.0.1:5672/", "redis://127.0.0.1:6379/0", "")
    assert (defaults.smtp_url, defaults.mail_from, defaults.public_url, defaults.namespace) == (
        "smtp://127.0.0.1:1025", "hireloop <no-reply@hireloop.local>", "http://localhost:8000", "hireloop")
    assert (defaults.broker_topology, defaults.rpc_timeout, defaults.max_workers, defaults.log_level) == (
        "declare", 10.0, 10, "INFO")
    assert (defaults.shutdown_grace, defaults.metrics_port, defaults.version) == (20.0, None, "0.1.0")
    assert (defaults.gateway_host, defaults.gateway_port, defaults.gateway_workers) == ("127.0.0.1", 8000, 1)
    assert (defaults.pool_retention_days, defaults.retention_rejected_days, defaults.retention_sweep_seconds) == (
        365, 180, 3600.0)
    assert defaults.cv_read_wait_seconds == 300.0  # screening's wait for a CV's reading (the careers issue)
    assert (defaults.rate_limit_key, defaults.rate_limit_division, defaults.rate_limit_anonymous) == (
        Rate(20, 100), Rate(100, 500), Rate(2, 30))
    assert (defaults.traces_sample_ratio, defaults.otlp_traces_url, defaults.traces_file) == (1.0, "", "")
    assert defaults.trace_db_commands is False  # no span per MongoDB command unless asked (issue 17)
    assert defaults.event_max_age_seconds == event_signing.DEFAULT_MAX_AGE_SECONDS
    assert (defaults.event_signing_key, dict(defaults.event_public_keys)) == (None, {})
    assert defaults.scale == {"sourcing": 1, "screening": 1, "interview_feedback": 1, "notification": 1,
                              "talent_pool": 1}
    assert (defaults.var_dir, defaults.metrics_base_port, defaults.embedded_mongo_port) == ("var", 9101, 0)
    assert (defaults.context_secret, defaults.portal_secret) == ("hireloop-dev-secret-change-me",
                                                                 "hireloop-dev-secret-change-me-portal")


def test_the_notification_retry_defaults_are_the_domain_s():
    from services.notification import domain

    defaults = Settings()
    assert (defaults.notify_backoff_base_seconds, defaults.notify_max_attempts) == (
        domain.BACKOFF_BASE_SECONDS, domain.MAX_ATTEMPTS)


def test_each_variable_is_read_by_its_name():
    env = {"RABBIT_URL": "amqp://u:p@mq:5672/v", "REDIS_URL": "redis://r:6379/1", "MONGO_URL": "mongodb://m",
           "HIRELOOP_NAMESPACE": "ns", "SMTP_URL": "smtp://s:25", "MAIL_FROM": "x <x@y>", "PUBLIC_URL": "https://p",
           "HIRELOOP_CONTEXT_SECRET": "c", "HIRELOOP_PORTAL_SECRET": "p", "HIRELOOP_ADMIN_KEY": "hl_a",
           "HIRELOOP_DATA_KEYS": "k1:abc", "HIRELOOP_LOOKUP_KEY": "lk", "BROKER_TOPOLOGY": "predeclared",
           "RPC_TIMEOUT": "2.5", "MAX_WORKERS": "4", "LOG_LEVEL": "DEBUG", "SHUTDOWN_GRACE": "0",
           "METRICS_PORT": "9100", "GATEWAY_HOST": "0.0.0.0", "GATEWAY_PORT": "8080", "GATEWAY_WORKERS": "2",
           "HIRELOOP_VERSION": "1.2.3", "POOL_RETENTION_DAYS": "30", "RETENTION_REJECTED_DAYS": "60",
           "RETENTION_SWEEP_SECONDS": "2", "NOTIFY_BACKOFF_BASE_SECONDS": "1", "NOTIFY_MAX_ATTEMPTS": "3",
           "CANDIDATE_REPLY_TO": "hr@x", "WEBHOOK_ALLOWED_HOSTS": "10.0.0.0/8", "RATE_LIMIT_KEY": "off",
           "RATE_LIMIT_DIVISION": "5/7", "RATE_LIMIT_ANONYMOUS": "1/2", "TRUSTED_PROXIES": "127.0.0.1",
           "HIRELOOP_TRACES_FILE": "var/t.jsonl", "OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_SAMPLER_ARG": "0.1",
           "HIRELOOP_TRACE_DB_COMMANDS": "true",
           "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318/", "RABBIT_MANAGEMENT_URL": "http://mq:15672",
           "HIRELOOP_VAR_DIR": "/tmp/v", "METRICS_BASE_PORT": "9200", "MONGO_PORT": "27018",
           "SCALE_SCREENING": "3", "HIRELOOP_EVENT_MAX_AGE_SECONDS": "86400"}
    s = Settings.from_env(env)
    assert (s.rabbit_url, s.redis_url, s.mongo_url, s.namespace) == ("amqp://u:p@mq:5672/v", "redis://r:6379/1",
                                                                     "mongodb://m", "ns")
    assert (s.smtp_url, s.mail_from, s.public_url) == ("smtp://s:25", "x <x@y>", "https://p")
    assert (s.context_secret, s.portal_secret, s.admin_key, s.data_keys, s.lookup_key) == (
        "c", "p", "hl_a", "k1:abc", "lk")
    assert s.predeclared_topology and (s.rpc_timeout, s.max_workers, s.log_level, s.shutdown_grace) == (
        2.5, 4, "DEBUG", 0.0)
    assert (s.metrics_port, s.gateway_host, s.gateway_port, s.gateway_workers, s.version) == (
        9100, "0.0.0.0", 8080, 2, "1.2.3")
    assert (s.pool_retention_days, s.retention_rejected_days, s.retention_sweep_seconds) == (30, 60, 2.0)
    assert (s.notify_backoff_base_seconds, s.notify_max_attempts) == (1, 3)
    assert (s.candidate_reply_to, s.webhook_allowed_hosts, s.trusted_proxies) == ("hr@x", "10.0.0.0/8", "127.0.0.1")
    assert (s.rate_limit_key, s.rate_limit_division, s.rate_limit_anonymous) == (None, Rate(5, 7), Rate(1, 2))
    assert (s.traces_file, s.tracing_disabled, s.traces_sample_ratio) == ("var/t.jsonl", True, 0.1)
    assert s.trace_db_commands is True
    assert s.otlp_traces_url == "http://otel:4318/v1/traces"  # the base URL, as OpenTelemetry's exporter does
    assert Settings.from_env({**env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/x"}).otlp_traces_url == \
        "http://t/x"
    assert (s.rabbit_management_url, s.var_dir, s.metrics_base_port, s.embedded_mongo_port) == (
        "http://mq:15672", "/tmp/v", 9200, 27018)
    assert s.scale["screening"] == 3 and s.scale["sourcing"] == 1 and s.event_max_age_seconds == 86400
    # secrets stay out of the repr (logs, tracebacks)
    assert not {"hl_a", "k1:abc", "'c'", "'p'", "lk"} & set(repr(s).replace(",", " ").replace(")", " ").split())
    assert "hl_a" not in repr(s) and "k1:abc" not in repr(s)


def test_a_process_own_broker_user_goes_into_the_broker_url():
    env = {"RABBIT_URL": "amqp://guest:guest@mq:5672/prod", "BROKER_USERNAME": "interview_feedback",
           "BROKER_PASSWORD": "p@ss word"}
    assert Settings.from_env(env).rabbit_url == "amqp://interview_feedback:p%40ss%20word@mq:5672/prod"
    assert Settings.from_env({"BROKER_USERNAME": "gateway", "BROKER_PASSWORD": "x"}).rabbit_url == \
        "amqp://gateway:x@127.0.0.1:5672/"
    users = Settings.from_env({"BROKER_PASSWORD_SOURCING": "s", "BROKER_PASSWORD_INTERVIEW_FEEDBACK": "i",
                               "BROKER_PASSWORD_GATEWAY": "", "BROKER_PASSWORD": "own"})
    assert users.broker_user_passwords == {"sourcing": "s", "interview_feedback": "i"}
    assert "'s'" not in repr(users)


@pytest.mark.parametrize("name, value, says", [
    ("MAX_WORKERS", "ten", "MAX_WORKERS must be an integer, not 'ten'"),
    ("NOTIFY_MAX_ATTEMPTS", "0", "NOTIFY_MAX_ATTEMPTS must be at least 1, not 0"),
    ("NOTIFY_BACKOFF_BASE_SECONDS", "x", "NOTIFY_BACKOFF_BASE_SECONDS must be an integer, not 'x'"),
    ("RPC_TIMEOUT", "soon", "RPC_TIMEOUT must be a number of seconds"),
    ("RETENTION_SWEEP_SECONDS", "0", "RETENTION_SWEEP_SECONDS must be above 0"),
    ("SHUTDOWN_GRACE", "-1", "SHUTDOWN_GRACE must be 0 or more"),
    ("SCALE_SCREENING", "two", "SCALE_SCREENING must be an integer"),
    ("OTEL_TRACES_SAMPLER_ARG", "2", "OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1"),
    ("RATE_LIMIT_KEY", "fast", "RATE_LIMIT_KEY='fast'"),
    (event_signing.MAX_AGE_VAR, "soon", event_signing.MAX_AGE_VAR),
])
def test_a_value_that_does_not_parse_stops_the_start_naming_the_variable(name, value, says):
    with pytest.raises(ValueError) as refused:
        Settings.from_env({name: value})
    assert says in str(refused.value)


def test_from_env_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("HIRELOOP_NAMESPACE", "from-the-env")
    monkeypatch.setenv("RATE_LIMIT_KEY", "off")
    settings = Settings.from_env()
    assert (settings.namespace, settings.rate_limit_key) == ("from-the-env", None)
    assert dataclasses.replace(settings, namespace="t1").namespace == "t1"  # tests pass their own explicitly


def test_every_variable_is_documented_in_the_configuration_page():
    page = (ROOT / "docs" / "configuration.md").read_text()
    names = {f.metadata["env"] for f in dataclasses.fields(Settings) if "env" in f.metadata}
    names |= {"BROKER_USERNAME", "BROKER_PASSWORD", "BROKER_PASSWORD_<USER>", "SCALE_<SERVICE>"}
    assert len(names) > 45
    assert sorted(n for n in names if f"`{n}`" not in page) == []
