"""Google Business Messages: the JWT-bearer token endpoint, messages, signed receipts, inbound."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import jwt
import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import Receiver, load_fixture

CLIENT_TOKEN = "gbm-client-token"
CONVERSATION = "c7a3b1e2-5d4f-4a6b-9c8d-0e1f2a3b4c5d"
AUTH = {"Authorization": "Bearer ya29.sandbox-token"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _assertion(**overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "gateway@project.iam.gserviceaccount.com",
        "scope": "https://www.googleapis.com/auth/businessmessages",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, "not-verifiable-here", algorithm="HS256")


def _assert_signed(body: bytes, header: str) -> None:
    expected = base64.b64encode(hmac.new(CLIENT_TOKEN.encode(), body, hashlib.sha512).digest()).decode()
    assert hmac.compare_digest(header, expected)


def _messages_url(sandbox: LocalSandbox) -> str:
    return f"{sandbox.url}/v1/conversations/{CONVERSATION}/messages"


@pytest.fixture
def webhook(control: SandboxClient, inbox: Receiver) -> Receiver:
    control.register_gbm(webhook_url=f"{inbox.url}/callbacks/gbm", client_token=CLIENT_TOKEN,
                         agent="brands/b1/agents/a1")
    return inbox


def test_token_endpoint_trades_a_jwt_for_an_access_token(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    response = http.post(f"{sandbox.url}/token", data={"grant_type": JWT_BEARER, "assertion": _assertion()})

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"]
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "client_credentials", "assertion": "x"}, "unsupported_grant_type"),
        ({"grant_type": JWT_BEARER}, "invalid_grant"),
        ({"grant_type": JWT_BEARER, "assertion": "not-a-jwt"}, "invalid_grant"),
        ({"grant_type": JWT_BEARER, "assertion": _assertion(scope=None)}, "invalid_grant"),
        ({"grant_type": JWT_BEARER, "assertion": _assertion(exp=int(time.time()) - 600)}, "invalid_grant"),
    ],
)
def test_token_endpoint_refuses_bad_grants(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, data: dict, error: str
) -> None:
    response = http.post(f"{sandbox.url}/token", data=data)

    assert response.status_code == 400
    assert response.json()["error"] == error


def test_send_returns_the_message_with_its_name(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    message = load_fixture("gbm_text_message.json")

    response = http.post(_messages_url(sandbox), json=message, headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == f"conversations/{CONVERSATION}/messages/{message['messageId']}"
    assert body["text"] == message["text"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer invalid"}])
def test_bad_bearer_is_401(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, headers: dict[str, str]
) -> None:
    response = http.post(_messages_url(sandbox), json=load_fixture("gbm_text_message.json"), headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("missing", ["messageId", "representative", "text"])
def test_incomplete_message_is_invalid_argument(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, missing: str
) -> None:
    message = load_fixture("gbm_text_message.json")
    del message[missing]

    response = http.post(_messages_url(sandbox), json=message, headers=AUTH)

    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_force_fallback_needs_fallback_text(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    rich = load_fixture("gbm_rich_card_message.json")

    refused = http.post(_messages_url(sandbox), params={"forceFallback": "true"}, json=rich, headers=AUTH)
    with_fallback = http.post(
        _messages_url(sandbox), params={"forceFallback": "true"}, json=dict(rich, fallback="Your order shipped"),
        headers=AUTH,
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert with_fallback.status_code == 200


def test_receipts_are_signed_with_the_client_token(
    sandbox: LocalSandbox, control: SandboxClient, webhook: Receiver, http: requests.Session
) -> None:
    control.set_behaviour(CONVERSATION, report="read")

    sent = http.post(_messages_url(sandbox), json=load_fixture("gbm_text_message.json"), headers=AUTH).json()

    callbacks = webhook.wait_for(2)
    for callback in callbacks:
        _assert_signed(callback.body, callback.headers["x-goog-signature"])
    bodies = [c.json() for c in callbacks]
    assert [b["receipts"]["receipts"] for b in bodies] == [
        [{"message": sent["name"], "receiptType": "DELIVERED"}],
        [{"message": sent["name"], "receiptType": "READ"}],
    ]
    assert all(b["conversationId"] == CONVERSATION and b["agent"] == "brands/b1/agents/a1" for b in bodies)
    assert all(b["sendTime"].endswith("Z") for b in bodies)


def test_inbound_message(sandbox: LocalSandbox, control: SandboxClient, webhook: Receiver) -> None:
    control.inject_inbound("gbm", account="brands/b1/agents/a1", sender=CONVERSATION, text="Is it in stock?")

    (callback,) = webhook.wait_for(1)
    _assert_signed(callback.body, callback.headers["x-goog-signature"])
    body = callback.json()
    assert body["conversationId"] == CONVERSATION
    assert body["message"]["text"] == "Is it in stock?"
    assert body["message"]["messageId"]
    assert body["requestId"]


def test_inbound_suggestion_response(sandbox: LocalSandbox, control: SandboxClient, webhook: Receiver) -> None:
    control.inject_inbound("gbm", account="", sender=CONVERSATION, text="Track", message_type="suggestion",
                           payload="track")

    (callback,) = webhook.wait_for(1)
    assert callback.json()["suggestionResponse"]["postbackData"] == "track"
