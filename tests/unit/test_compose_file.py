"""No Docker engine runs here, so the compose file's structure is checked instead."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ("sourcing", "screening", "interview_feedback", "notification", "talent_pool")


def load():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_every_part_of_the_platform_is_a_service_with_a_healthcheck():
    services = load()
    for name in (*PLATFORM, "gateway", "rabbitmq", "mongo", "redis", "mailpit", "topology"):
        assert name in services, name
        svc = services[name]
        assert "image" in svc or "build" in svc, name
        if name != "topology":
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_services_run_their_own_module_and_wait_for_dependencies():
    services = load()
    for name in PLATFORM:
        svc = services[name]
        assert svc["command"] == ["python", "-m", f"services.{name}"]
        assert svc["build"] == "." and (ROOT / "services" / name / "__main__.py").exists()
        deps = svc["depends_on"]
        assert deps["topology"]["condition"] == "service_completed_successfully"
        assert deps["mongo"]["condition"] == "service_healthy"
        assert name in " ".join(svc["healthcheck"]["test"])
        env = svc["environment"]
        for var in ("RABBIT_URL", "MONGO_URL", "REDIS_URL", "SMTP_URL", "HIRELOOP_CONTEXT_SECRET"):
            assert env.get(var), (name, var)


def test_services_can_scale_out():
    """`--scale screening=3` needs no fixed container name and no fixed host port."""
    services = load()
    for name in PLATFORM:
        assert "container_name" not in services[name]
        assert "ports" not in services[name]


def test_mongo_runs_as_a_replica_set_for_transactions():
    mongo = load()["mongo"]
    assert "--replSet" in mongo["command"]
    assert "replicaSet=" in load()["sourcing"]["environment"]["MONGO_URL"]


def test_dockerfile_copies_everything_the_processes_import():
    text = (ROOT / "Dockerfile").read_text()
    for part in ("shared", "services", "gateway", "pyproject.toml"):
        assert part in text


def test_compose_ships_traces_to_a_collector_and_jaeger_and_scrapes_every_replica():
    services = load()
    for name in ("otel-collector", "jaeger", "prometheus", "grafana"):
        assert name in services, name
    for name in (*PLATFORM, "gateway"):
        env = services[name]["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
        assert env["METRICS_PORT"] == "9100"
    collector = yaml.safe_load((ROOT / "infra" / "otel-collector.yaml").read_text())
    pipeline = collector["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and collector["receivers"]["otlp"]["protocols"]["http"]
    assert all(e in collector["exporters"] for e in pipeline["exporters"])
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    for mount in services["otel-collector"]["volumes"] + services["prometheus"]["volumes"] + \
            services["grafana"]["volumes"]:
        assert (ROOT / mount.split(":")[0]).exists(), mount
    prometheus = yaml.safe_load((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["gateway"]["static_configs"][0]["targets"] == ["gateway:8000"]
    discovered = jobs["services"]["dns_sd_configs"][0]
    assert sorted(discovered["names"]) == sorted(PLATFORM) and discovered["port"] == 9100


def test_grafana_dashboard_charts_only_metrics_the_platform_exports():
    import json
    import re

    from gateway import metrics as gateway_metrics
    from shared import metrics as service_metrics

    exported = set()
    for registry in (gateway_metrics.REGISTRY, service_metrics.REGISTRY):
        for family in registry.collect():
            exported |= {family.name, f"{family.name}_total", f"{family.name}_bucket", f"{family.name}_count"}
    dashboard = json.loads((ROOT / "infra" / "grafana" / "dashboards" / "hireloop.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\b((?:hireloop|process)_[a-z_]+)\b", expr)}
    assert used and used <= exported, used - exported
    charted = " ".join(exprs)
    for figure in ("hireloop_http_requests_total", "hireloop_worker_duration_seconds_bucket",
                   "hireloop_messages_dead_lettered_total", "hireloop_outbox_backlog", "hireloop_scheduler_backlog",
                   "hireloop_queue_messages", "hireloop_business_events_total"):
        assert figure in charted, figure


# ------------------------------------------------------------------ docker-compose.production.yml
class _ComposeLoader(yaml.SafeLoader):
    """Knows compose's `!reset` (the override empties the value instead of merging into it)."""


class _Reset(list):
    pass


_ComposeLoader.add_constructor("!reset", lambda loader, node: _Reset())


def _merge(base, override, key=""):
    """docker compose's merge of an override file, for the fields these files use: mappings merge, `!reset`
    empties, ports and volumes add up, anything else (command, image, ...) is replaced."""
    if isinstance(override, _Reset):
        return []
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merge(base[k], v, k) if k in base else v for k, v in override.items()} | \
            {k: v for k, v in base.items() if k not in override}
    if key in ("ports", "volumes") and isinstance(base, list) and isinstance(override, list):
        return base + [v for v in override if v not in base]
    return override


def load_production():
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    override = yaml.load((ROOT / "docker-compose.production.yml").read_text(), Loader=_ComposeLoader)
    return override, _merge(base, override)


def test_production_overrides_only_services_that_exist_and_adds_the_definitions_import():
    override, merged = load_production()
    assert set(override["services"]) - set(load()) == {"rabbitmq-definitions"}
    for name, svc in merged["services"].items():
        assert "image" in svc or "build" in svc, name
    assert set(merged["volumes"]) >= {"mongo-data", "rabbitmq-data", "redis-data"}


def test_production_imports_the_same_definitions_file_as_kubernetes_before_the_topology_job():
    import json

    from shared.bus import topology

    _, merged = load_production()
    services = merged["services"]
    job = services["rabbitmq-definitions"]
    source, target = job["volumes"][0].split(":")[:2]
    assert source == "./infra/k8s/base/rabbitmq-definitions.json"
    assert json.loads((ROOT / source).read_text()) == topology.definitions()  # quorum queues, limits, policies
    script = " ".join(job["command"])
    assert f"@{target}" in script and "http://rabbitmq:15672/api/definitions" in script
    assert "--fail-with-body" in script and "--retry" in script
    assert job["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert services["topology"]["depends_on"]["rabbitmq-definitions"]["condition"] == \
        "service_completed_successfully"
    # The services still wait for the topology job, which now waits for the import.
    for name in PLATFORM:
        assert services[name]["depends_on"]["topology"]["condition"] == "service_completed_successfully"
    assert "management" in services["rabbitmq"]["image"]  # the import goes through the management API


def test_production_requires_every_secret_and_gives_rabbitmq_its_own_user():
    _, merged = load_production()
    services = merged["services"]
    for name in (*PLATFORM, "gateway", "topology"):
        env = services[name]["environment"]
        for var in ("HIRELOOP_CONTEXT_SECRET", "HIRELOOP_PORTAL_SECRET", "HIRELOOP_DATA_KEYS", "HIRELOOP_LOOKUP_KEY",
                    "SMTP_URL"):
            assert env[var].startswith("${" + var + ":?"), (name, var)  # compose refuses to start without it
        assert env["RABBIT_URL"].startswith("amqp://hireloop:${RABBIT_PASSWORD:?"), name
    assert services["gateway"]["environment"]["HIRELOOP_ADMIN_KEY"].startswith("${HIRELOOP_ADMIN_KEY:?")
    rabbit = services["rabbitmq"]
    assert rabbit["environment"]["RABBITMQ_DEFAULT_USER"] == "hireloop"
    assert rabbit["environment"]["RABBITMQ_DEFAULT_PASS"].startswith("${RABBIT_PASSWORD:?")
    assert rabbit["hostname"] == "rabbitmq" and "rabbitmq-data:/var/lib/rabbitmq" in rabbit["volumes"]


def test_production_keeps_mongo_a_one_node_replica_set_and_publishes_no_store_ports():
    _, merged = load_production()
    services = merged["services"]
    assert "--replSet" in services["mongo"]["command"]
    assert "replicaSet=" in services["sourcing"]["environment"]["MONGO_URL"]
    assert services["mongo"]["ports"] == [] and services["rabbitmq"]["ports"] == [] and services["redis"]["ports"] == []
    assert services["gateway"]["ports"] == ["8000:8000"]
    for name in PLATFORM:
        assert "ports" not in services[name]  # still scales with --scale


def test_each_process_connects_as_its_own_broker_user_made_by_the_topology_job():
    """Least privilege on the broker: the topology job (admin) declares the topology and makes the users of
    shared.bus.topology.broker_users() (tests/integration/test_broker_users.py proves them on a real broker);
    every service and the gateway connect as their own and declare nothing (BROKER_TOPOLOGY=predeclared)."""
    from shared.bus import topology

    for merged in (load(), load_production()[1]["services"]):
        job = merged["topology"]
        assert job["command"] == ["python", "-m", "shared.bus.topology", "--users"]
        for user in topology.broker_users():
            env = merged[user.name]["environment"]
            assert env["BROKER_USERNAME"] == user.name and env["BROKER_TOPOLOGY"] == "predeclared", user.name
            variable = topology.password_variable(user.name)
            assert env["BROKER_PASSWORD"].startswith("${" + variable + ":"), user.name
            assert job["environment"][variable].startswith("${" + variable + ":"), user.name
    _, production = load_production()
    for user in topology.broker_users():  # production refuses to start without each password
        variable = topology.password_variable(user.name)
        assert production["services"][user.name]["environment"]["BROKER_PASSWORD"].startswith("${" + variable + ":?")
        assert production["services"]["topology"]["environment"][variable].startswith("${" + variable + ":?")
