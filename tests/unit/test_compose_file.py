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
