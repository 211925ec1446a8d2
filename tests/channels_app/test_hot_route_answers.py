"""Send and sendbulk are served without DRF's request cycle (channels_app/lean_api.py) and answer every
request as the DRF views did: the same statuses, problem bodies and headers, body parsing that
accepts and refuses the same documents, and DRF's own cycle for requests the lean path does not
model (other methods, other Accept headers)."""

from __future__ import annotations

import json

import pytest

from channels_app.models import Message
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

SEND = "/api/v1/Message/send"
BULK = "/api/v1.1/Messages/sendbulk"
JSON = "application/json"


@pytest.fixture
def account(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms")


def _send_body(account, **extra) -> dict:
    return {"trafficAccountId": str(account.id), "destination": "+41751231234",
            "sms": {"text": "Hi", "sender": "Shop"}, **extra}


def _post(client, path: str, body: bytes, content_type: str = JSON, **extra):
    return client.generic("POST", path, body, content_type=content_type, **extra)


def _problem(response, status: int, problem_type: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"https://gateway.example/problems/{problem_type}"
    assert body["status"] == status
    return body


def test_a_send_answers_the_message_as_json_with_drfs_allow_header(auth_client, account):
    response = _post(auth_client, SEND, json.dumps(_send_body(account)).encode())

    assert response.status_code == 200
    assert response["Content-Type"] == JSON
    assert response["Allow"] == "POST, OPTIONS"
    body = response.json()
    assert Message.objects.get(id=body["messageId"]).customer == auth_client.customer
    assert body["deliveryStatus"] == "Ready"


@pytest.mark.parametrize("path", [SEND, BULK])
def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(api_client, path):
    response = _post(api_client, path, b"{")  # the body is never read

    body = _problem(response, 401, "unauthorized")
    assert body["detail"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_another_scheme_is_401_with_the_same_detail_as_before(api_client, account):
    response = _post(api_client, SEND, b"{}", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

    assert _problem(response, 401, "unauthorized")["detail"] == "Use 'Authorization: Bearer <token>'."
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("path", [SEND, BULK])
def test_malformed_json_is_400_with_the_python_decoders_message(auth_client, path):
    response = _post(auth_client, path, b'{"trafficAccountId": ')

    body = _problem(response, 400, "malformed-request")
    assert body["detail"] == "JSON parse error - Expecting value: line 1 column 22 (char 21)"


def test_nan_is_refused_as_drf_refused_it(auth_client):
    body = _problem(_post(auth_client, SEND, b'{"a": NaN}'), 400, "malformed-request")

    assert body["detail"] == "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"


def test_json_nested_beyond_the_decoders_reach_is_400(auth_client):
    body = _problem(_post(auth_client, SEND, b"[" * 5000 + b"]" * 5000), 400, "malformed-request")

    assert body["detail"] == "JSON parse error - nested too deeply."


def test_an_integer_beyond_64_bits_is_read_as_that_integer(auth_client, account):
    # orjson would read it as a float ("Enter the destination as a string."); DRF read an integer.
    raw = b'{"trafficAccountId": "%s", "destination": 123456789012345678901234, "sms": {"text": "Hi"}}'

    body = _problem(_post(auth_client, SEND, raw % str(account.id).encode()), 400, "validation-error")

    assert [e["path"] for e in body["errors"]] == ["destination"]
    assert body["errors"][0]["message"] != "Enter the destination as a string."


def test_a_body_in_another_charset_is_decoded_with_it(auth_client, account):
    raw = json.dumps(_send_body(account, reference="caf\u00e9"), ensure_ascii=False).encode("latin-1")

    response = _post(auth_client, SEND, raw, content_type="application/json; charset=latin-1")

    assert response.status_code == 200
    assert response.json()["reference"] == "caf\u00e9"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_415(auth_client, account, content_type):
    response = _post(auth_client, SEND, json.dumps(_send_body(account)).encode(), content_type=content_type)

    body = _problem(response, 415, "unsupported-media-type")
    assert body["detail"] == f'Unsupported media type "{content_type}" in request.'
    assert not Message.objects.exists()


def test_no_body_reads_as_an_empty_object(auth_client):
    body = _problem(_post(auth_client, SEND, b"", content_type="text/plain"), 400, "validation-error")

    assert body["errors"] == [{"path": "trafficAccountId", "message": "This field is required."}]


def test_line_separators_in_the_answer_are_escaped_as_drf_escaped_them(auth_client, account):
    response = _post(auth_client, SEND, json.dumps(_send_body(account, reference="a\u2028b\u2029c")).encode())

    assert response.status_code == 200
    assert b'"reference":"a\\u2028b\\u2029c"' in response.content


def test_sendbulk_over_the_customers_rate_is_429_with_retry_after(auth_client, account, settings):
    settings.API_RATE_BURST_SECONDS = 1
    auth_client.customer.api_rate_per_second = 1
    auth_client.customer.save(update_fields=["api_rate_per_second"])
    bulk = json.dumps({"trafficAccountId": str(account.id), "destinations": ["+41751231234"],
                       "sms": {"text": "Hi", "sender": "Shop"}}).encode()

    first, refused = _post(auth_client, BULK, bulk), _post(auth_client, BULK, bulk)

    assert first.status_code == 200
    body = _problem(refused, 429, "too-many-requests")
    assert refused["Retry-After"] == str(body["retryAfter"]) == "1"
    assert body["detail"] == "Request was throttled. Expected available in 1 second."
    assert Message.objects.count() == 1


def test_an_idempotent_sendbulk_replays_its_first_answer(auth_client, account):
    bulk = json.dumps({"trafficAccountId": str(account.id), "destinations": ["+41751231234", "+41751231235"],
                       "sms": {"text": "Hi", "sender": "Shop"}}).encode()

    first = _post(auth_client, BULK, bulk, HTTP_IDEMPOTENCY_KEY="bulk-1")
    again = _post(auth_client, BULK, bulk, HTTP_IDEMPOTENCY_KEY="bulk-1")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Message.objects.count() == 2


@pytest.mark.parametrize("accept", ["text/html", ""])
def test_an_accept_header_drf_cannot_satisfy_is_still_406(auth_client, account, accept):
    response = _post(auth_client, SEND, json.dumps(_send_body(account)).encode(), HTTP_ACCEPT=accept)

    assert _problem(response, 406, "error")["detail"] == "Could not satisfy the request Accept header."
    assert not Message.objects.exists()


def test_an_indent_in_the_accept_header_is_still_honoured(auth_client, account):
    response = _post(auth_client, SEND, json.dumps(_send_body(account)).encode(),
                     HTTP_ACCEPT="application/json; indent=4")

    assert response.status_code == 200
    assert response.content.startswith(b'{\n    "messageId": ')


@pytest.mark.parametrize("path", [SEND, BULK])
def test_other_methods_are_405_problems(auth_client, path):
    response = auth_client.get(path)

    assert _problem(response, 405, "method-not-allowed")["detail"] == 'Method "GET" not allowed.'
    assert response["Allow"] == "POST, OPTIONS"
