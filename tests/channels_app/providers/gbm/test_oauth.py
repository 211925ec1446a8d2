"""Service-account tokens through google-auth: the account's own token URI, one call per failure."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from uuid import uuid4

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels_app.providers.base import OutboundMessage, ProviderAccount, ProviderThrottled
from channels_app.providers.gbm.adapter import GbmAdapter

BASE_URL = "https://businessmessages.googleapis.com"
CONVERSATION_ID = "bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0"
SEND_URL = f"{BASE_URL}/v1/conversations/{CONVERSATION_ID}/messages"
OWN_TOKEN_URI = "https://oauth2.partner.test/token"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def gbm(
    rsa_key: rsa.RSAPrivateKey, token_uri: str, base_url: str = BASE_URL, session: requests.Session | None = None
) -> GbmAdapter:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = {
        "type": "service_account",
        "private_key": pem,
        # A fresh address per test keeps the process-wide token cache from leaking between tests.
        "client_email": f"gbm-{uuid4().hex[:8]}@project.iam.gserviceaccount.com",
        "token_uri": token_uri,
    }
    account = ProviderAccount(
        id=uuid4(), channel="gbm", base_url=base_url, credentials={"service_account_json": json.dumps(key)}
    )
    return GbmAdapter(account, session=session)


def outbound() -> OutboundMessage:
    return OutboundMessage(id=uuid4(), destination=CONVERSATION_ID, content={"text": {"message": "Hi"}})


@responses.activate
def test_token_is_requested_from_the_accounts_own_token_uri(rsa_key):
    responses.post(OWN_TOKEN_URI, json={"access_token": "ya29.own", "expires_in": 3599, "token_type": "Bearer"})
    responses.post(SEND_URL, json={"name": f"conversations/{CONVERSATION_ID}/messages/x"})

    gbm(rsa_key, OWN_TOKEN_URI).send(outbound())

    token_request, send_request = (call.request for call in responses.calls)
    assert token_request.url == OWN_TOKEN_URI
    assertion = parse_qs(token_request.body)["assertion"][0]
    claims = jwt.decode(assertion, rsa_key.public_key(), algorithms=["RS256"], options={"verify_aud": False})
    assert claims["scope"] == "https://www.googleapis.com/auth/businessmessages"
    assert send_request.headers["Authorization"] == "Bearer ya29.own"


@responses.activate
def test_throttled_token_endpoint_is_asked_once_and_its_retry_after_kept(rsa_key):
    # google-auth would retry a 429 itself, with backoff, inside the send; the dispatcher decides instead
    responses.post(OWN_TOKEN_URI, status=429, json={"error": "rate_limit_exceeded"}, headers={"Retry-After": "20"})

    with pytest.raises(ProviderThrottled) as error:
        gbm(rsa_key, OWN_TOKEN_URI).send(outbound())

    assert len(responses.calls) == 1
    assert error.value.retry_after == 20.0
    assert error.value.exchange.url == OWN_TOKEN_URI


@pytest.fixture
def keep_alive_server() -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """A local token endpoint and Business Messages API over HTTP/1.1 keep-alive, recording which
    client connection (port) each request came on."""
    seen: list[tuple[str, int]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append((self.path.split("?")[0], self.client_address[1]))
            answer = {"access_token": "ya29.local", "expires_in": 3599} if self.path == "/token" else {"name": "m/x"}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_token_fetch_leaves_the_pooled_connections_open(rsa_key, keep_alive_server):
    # google-auth's transport closes its session when it is collected; ours is the shared pool
    base_url, seen = keep_alive_server
    with requests.Session() as session:
        adapter = gbm(rsa_key, f"{base_url}/token", base_url=base_url, session=session)

        adapter.send(outbound())
        gc.collect()
        adapter.send(outbound())

    send_path = f"/v1/conversations/{CONVERSATION_ID}/messages"
    assert [path for path, _ in seen] == ["/token", send_path, send_path]
    assert len({port for _, port in seen}) == 1  # one connection, kept alive across all three calls
