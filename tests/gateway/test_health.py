"""/livez, /readyz (PostgreSQL, Redis, beat's heartbeat) and /healthz."""

from __future__ import annotations

import time

import pytest

from gateway.heartbeat import HEARTBEAT_KEY, beat_heartbeat_write
from gateway.redis import get_redis

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat():
    get_redis().delete(HEARTBEAT_KEY)
    yield
    get_redis().delete(HEARTBEAT_KEY)


def test_livez_answers_without_asking_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_a_fresh_heartbeat(client, settings):
    settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS = 30
    beat_heartbeat_write(time.time() - 5)

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "beat": "ok"}}


def test_readyz_is_503_naming_beat_when_its_heartbeat_is_stale(client, settings):
    settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS = 30
    beat_heartbeat_write(time.time() - 45)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503 and body["type"].endswith("/not-ready")
    assert "beat" in body["detail"] and "45 s old" in body["detail"]
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"


def test_readyz_is_503_when_beat_never_beat(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert "no heartbeat" in response.json()["checks"]["beat"]


def test_healthz_still_checks_postgresql_and_redis_only(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_beats_scheduler_writes_the_heartbeat_as_it_ticks(settings, tmp_path):
    """The scheduler beat runs (CELERY_BEAT_SCHEDULER) beats from its own loop."""
    from gateway.celery import app
    from gateway.heartbeat import HeartbeatScheduler, beat_heartbeat_age

    assert app.conf.beat_scheduler == "gateway.heartbeat:HeartbeatScheduler"
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"), lazy=True)
    scheduler.setup_schedule()
    scheduler.schedule.clear()  # tick, but send no sweeps to the test broker

    assert beat_heartbeat_age() is None
    scheduler.tick()
    age = beat_heartbeat_age()
    assert age is not None and age < 2
