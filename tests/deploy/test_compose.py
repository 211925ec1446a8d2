"""docker-compose.yml is production-shaped. Docker is not available where the tests run, so the
file is loaded and its properties checked (compose would refuse what these catch, or worse,
run it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ONE_SHOT = {"migrate"}
SECRETS = ("SECRET_KEY", "JWT_SIGNING_KEY", "MITTO_DLR_SIGNING_KEYS", "MITTO_INBOUND_SIGNING_KEYS")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", [])
    return " ".join(command) if isinstance(command, list) else str(command)


def _healthcheck(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def test_the_sandbox_runs_only_in_the_dev_profile(services):
    assert services["sandbox"]["profiles"] == ["dev"]
    assert all("profiles" not in s for name, s in services.items() if name not in ("sandbox", "prometheus"))


def test_every_long_running_service_restarts_unless_stopped(services):
    for name, service in services.items():
        expected = "no" if name in ONE_SHOT else "unless-stopped"
        assert service.get("restart") == expected, name


def test_every_long_running_service_has_a_health_check(services):
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert _healthcheck(service), name
            assert not service["healthcheck"].get("disable"), name


def test_the_health_checks_ask_what_each_process_is_for(services):
    assert "/livez" in _healthcheck(services["web"]) or "/readyz" in _healthcheck(services["web"])
    for worker in ("worker", "housekeeping"):
        check = _healthcheck(services[worker])
        assert "celery -A gateway inspect ping" in check
        node = check.split("--destination")[1].split()[0].strip('"').split("@")[0]
        assert f"--hostname {node}@%h" in _command(services[worker])  # pings its own node only
    assert _healthcheck(services["beat"]).endswith("-m gateway.heartbeat")
    assert (ROOT / "gateway" / "heartbeat.py").exists()


def test_secrets_come_only_from_the_environment(services):
    required = re.compile(r"\$\{[A-Z_]+:\?[^}]+\}")  # ${NAME:?message}: no literal, no default
    for name, service in services.items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if key in SECRETS or key.endswith("PASSWORD"):
                assert required.fullmatch(str(value)), (name, key, value)
            if key in ("DATABASE_URL", "REDIS_URL"):
                password = str(value).split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[1]
                assert required.fullmatch(password), (name, key, value)
    assert all(secret in services["web"]["environment"] for secret in SECRETS)


def test_prometheus_scrapes_metrics_in_the_monitoring_profile(services):
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    mounted = [v.split(":")[0] for v in prometheus["volumes"]]
    assert "./deploy/prometheus.yml" in mounted
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["web:8000"]


def test_only_prometheus_may_read_metrics(services):
    address = services["prometheus"]["networks"]["backend"]["ipv4_address"]
    allowed = services["web"]["environment"]["METRICS_ALLOWED_NETWORKS"].split(",")
    assert f"{address}/32" in allowed
    assert all(n.endswith("/32") or n in ("127.0.0.0/8", "::1/128") for n in allowed)


def test_web_workers_and_beat_share_one_metrics_directory(services):
    for name in ("web", "worker", "housekeeping", "beat"):
        service = services[name]
        directory = service["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert any(v == f"metrics:{directory}" for v in service["volumes"]), name
