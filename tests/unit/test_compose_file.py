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
