"""Path aliases, case-insensitive paths, problem JSON for bad input, health, OpenAPI."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
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
    assert "/api/v1/Customers/login" in schema.json()["paths"]
    assert docs.status_code == 200


def test_the_schema_is_generated_without_warnings_and_with_unique_operation_ids(tmp_path):
    """drf-spectacular prints each warning as a plain-text line to the web's stderr on every
    schema request (every Swagger UI visit), between the JSON log lines."""
    target = tmp_path / "schema.yml"
    call_command(
        "spectacular", "--urlconf", "gateway.schema_urls", "--fail-on-warn", "--validate", "--file", str(target)
    )

    schema = yaml.safe_load(target.read_text())
    operations = [op for path in schema["paths"].values() for op in path.values() if isinstance(op, dict)]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    send = schema["paths"]["/api/v1/Message/send"]["post"]
    assert {"bearerAuth": []} in send["security"]


def _schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_the_schema_lists_the_guides_canonical_paths_and_no_operator_endpoints(client):
    paths = _schema(client)["paths"]

    assert {"/api/v1/Message/send", "/api/v1.1/Messages/sendbulk", "/api/v1/Customers/login"} <= set(paths)
    assert not [p for p in paths if p.startswith(("/admin", "/healthz", "/callbacks", "/metrics", "/livez"))]
    assert "/api/v1/messages/send" not in paths  # aliases are described, not repeated


def test_every_operation_documents_its_body_and_its_errors_as_problems(client):
    schema = _schema(client)
    problem = {"$ref": "#/components/schemas/Problem"}

    assert set(schema["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            assert success, (method, path)
            if method != "delete":
                assert all("content" in responses[code] for code in success if code != "204"), (method, path)
            assert "429" in responses, (method, path)
            if path != "/api/v1/Customers/login":
                assert "401" in responses, (method, path)
            if method in ("post", "put"):
                assert {"400", "413"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code >= "400":
                    assert response["content"] == {"application/problem+json": {"schema": problem}}, (method, path)
    send = schema["paths"]["/api/v1/Message/send"]["post"]["responses"]
    assert {"200", "400", "401", "404", "409", "413", "429"} <= set(send)
    message = schema["components"]["schemas"]["Message"]
    assert {"messageId", "deliveryStatus", "reference", "metadata"} <= set(message["required"])


def test_a_nul_in_a_query_parameter_is_a_400_problem(auth_client):
    response = auth_client.get("/api/v1/Messages?destination=%2B4175%00")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("malformed-request")
