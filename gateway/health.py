"""Liveness with dependencies: 200 when PostgreSQL and Redis both answer, 503 otherwise."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

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


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
