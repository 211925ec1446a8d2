"""Path aliases, case-insensitive paths, problem JSON for bad input, health, OpenAPI."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/Customers/login",
        "/api/v1/customers/login",
        "/api/v1/CUSTOMERS/LOGIN",
        "/api/v1.1/Customers/login",
        "/API/V1.1/customers/Login",
        "/v1/Customers/login",
        "/V1/customers/LOGIN",
        "/v1.1/Customers/login",
    ],
)
def test_login_answers_on_every_spelling_and_version(api_client, customer, path):
    response = api_client.post(path, {"email": customer.email, "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 200
    assert "token" in response.json()


def test_malformed_json_is_a_400_problem(api_client):
    response = api_client.generic(
        "POST", "/api/v1/Customers/login", '{"email": "a@b.c", "password": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["type"].endswith("malformed-request")


def test_field_errors_carry_paths(api_client):
    response = api_client.post("/api/v1/Customers/login", {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    paths = {error["path"] for error in response.json()["errors"]}
    assert paths == {"email", "password"}


def test_unknown_api_path_is_a_404_problem(auth_client):
    response = auth_client.get("/api/v1/NoSuchThing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_healthz_reports_both_dependencies(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_is_503_when_redis_is_down(client, settings, monkeypatch):
    import gateway.redis as gateway_redis

    # Point the gateway at a port where no Redis listens: a real connection failure.
    monkeypatch.setattr(gateway_redis, "_client", None)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        gateway_redis._client = None

    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")
    assert response.json()["checks"]["database"] == "ok"


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    # Close the real connection and point it at a port with no server.
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "PORT", "1")
    try:
        response = client.get("/healthz")
    finally:
        connection.close()

    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("error")


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert "/api/v1/customers/login" in schema.json()["paths"]
    assert docs.status_code == 200
