"""Health endpoints for orchestrators and load balancers.

* ``/livez``: the process answers; nothing else is asked, so a database outage never gets
  healthy web processes restarted.
* ``/readyz``: PostgreSQL and Redis answer and beat's heartbeat is fresh; 503 problem+json
  naming what failed otherwise. Without beat nothing sweeps: no failover fires, no retry leaves.
* ``/healthz``: as before, PostgreSQL and Redis only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from gateway.heartbeat import beat_heartbeat_age
from gateway.problems import problem_response
from gateway.redis import get_redis


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # any failure means "not healthy": report it, don't raise
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    try:
        get_redis().ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _check_beat() -> str:
    limit = settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS
    try:
        age = beat_heartbeat_age()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    if age is None:
        return "error: no heartbeat from beat"
    if age > limit:
        return f"error: heartbeat {age:.0f} s old (limit {limit:g} s)"
    return "ok"


def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "redis": _check_redis(), "beat": _check_beat()}
    failed = {name: value for name, value in checks.items() if value != "ok"}
    if failed:
        detail = "Not ready: " + "; ".join(f"{name} {value}" for name, value in failed.items())
        return problem_response(503, detail, "not-ready", checks=checks)
    return JsonResponse({"status": "ok", "checks": checks})


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
