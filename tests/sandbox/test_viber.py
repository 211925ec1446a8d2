"""Viber Bot API: send_message, set_webhook, get_account_info, signed callbacks, inbound."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import Receiver, load_fixture

TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
AUTH = {"X-Viber-Auth-Token": TOKEN}
RECEIVER = "01234567890A="


def _assert_signed(body: bytes, header: str) -> None:
    assert hmac.compare_digest(header, hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest())


@pytest.fixture
def webhook(control: SandboxClient, inbox: Receiver) -> Receiver:
    control.register_viber(TOKEN, url=f"{inbox.url}/callbacks/viber?ta=account-1")
    return inbox


def test_send_message_success(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    response = http.post(f"{sandbox.url}/pa/send_message", json=load_fixture("viber_text_message.json"), headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 0
    assert body["status_message"] == "ok"
    assert isinstance(body["message_token"], int)
    assert body["message_token"] > 2**32


@pytest.mark.parametrize("headers", [{}, {"X-Viber-Auth-Token": "invalid"}])
def test_bad_token_is_status_2_with_http_200(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, headers: dict[str, str]
) -> None:
    body = load_fixture("viber_text_message.json")

    response = http.post(f"{sandbox.url}/pa/send_message", json=body, headers=headers)

    assert response.status_code == 200
    assert response.json() == {"status": 2, "status_message": "invalidAuthToken"}


@pytest.mark.parametrize(
    ("change", "status"),
    [({"receiver": None}, 4), ({"sender": None}, 4), ({"type": "hologram"}, 3), ({"text": None}, 4)],
)
def test_malformed_send_gets_viber_status(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, change: dict, status: int
) -> None:
    body = {k: v for k, v in {**load_fixture("viber_text_message.json"), **change}.items() if v is not None}

    response = http.post(f"{sandbox.url}/pa/send_message", json=body, headers=AUTH)

    assert response.status_code == 200
    assert response.json()["status"] == status


def test_set_webhook_stores_url_and_sends_a_signed_check(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    url = f"{inbox.url}/callbacks/viber?ta=account-1"

    response = http.post(
        f"{sandbox.url}/pa/set_webhook", json={"url": url, "event_types": ["delivered", "seen"]}, headers=AUTH
    )
    info = http.post(f"{sandbox.url}/pa/get_account_info", json={}, headers=AUTH).json()

    assert response.json()["status"] == 0
    assert response.json()["event_types"] == ["delivered", "seen"]
    assert info["webhook"] == url
    (check,) = inbox.wait_for(1)
    assert check.query == {"ta": "account-1"}
    assert check.json()["event"] == "webhook"
    _assert_signed(check.body, check.headers["x-viber-content-signature"])


def test_removing_the_webhook(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    control.register_viber(TOKEN, url="http://127.0.0.1:9/hook")

    response = http.post(f"{sandbox.url}/pa/set_webhook", json={"url": ""}, headers=AUTH)

    assert response.json()["status"] == 0
    assert control.registration("viber", TOKEN) is None


def test_delivered_callback_is_signed_with_the_auth_token(
    sandbox: LocalSandbox, control: SandboxClient, webhook: Receiver, http: requests.Session
) -> None:
    sent = http.post(f"{sandbox.url}/pa/send_message", json=load_fixture("viber_text_message.json"), headers=AUTH)

    (callback,) = webhook.wait_for(1)
    _assert_signed(callback.body, callback.headers["x-viber-content-signature"])
    assert callback.query == {"ta": "account-1"}
    body = callback.json()
    assert body["event"] == "delivered"
    assert body["message_token"] == sent.json()["message_token"]
    assert body["user_id"] == RECEIVER
    assert body["timestamp"] > 10**12


def test_read_report_is_delivered_then_seen(
    sandbox: LocalSandbox, control: SandboxClient, webhook: Receiver, http: requests.Session
) -> None:
    control.set_behaviour(RECEIVER, report="read")

    http.post(f"{sandbox.url}/pa/send_message", json=load_fixture("viber_text_message.json"), headers=AUTH)

    assert [c.json()["event"] for c in webhook.wait_for(2)] == ["delivered", "seen"]


def test_failed_report_carries_desc(
    sandbox: LocalSandbox, control: SandboxClient, webhook: Receiver, http: requests.Session
) -> None:
    control.set_behaviour(RECEIVER, report="failed", error_text="user is offline for too long")

    http.post(f"{sandbox.url}/pa/send_message", json=load_fixture("viber_text_message.json"), headers=AUTH)

    (callback,) = webhook.wait_for(1)
    assert callback.json()["event"] == "failed"
    assert callback.json()["desc"] == "user is offline for too long"


def test_event_types_filter_callbacks(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    control.register_viber(TOKEN, url=f"{inbox.url}/callbacks/viber", event_types=["seen"])
    control.set_behaviour(RECEIVER, report="read")

    http.post(f"{sandbox.url}/pa/send_message", json=load_fixture("viber_text_message.json"), headers=AUTH)

    (callback,) = inbox.wait_for(1)
    assert callback.json()["event"] == "seen"


def test_inbound_message_event(sandbox: LocalSandbox, control: SandboxClient, webhook: Receiver) -> None:
    control.inject_inbound("viber", account=TOKEN, sender=RECEIVER, text="Hello bot", name="Ana")

    (callback,) = webhook.wait_for(1)
    _assert_signed(callback.body, callback.headers["x-viber-content-signature"])
    body = callback.json()
    assert body["event"] == "message"
    assert body["sender"]["id"] == RECEIVER
    assert body["sender"]["name"] == "Ana"
    assert body["message"] == {"type": "text", "text": "Hello bot"}
    assert isinstance(body["message_token"], int)


def test_inbound_subscribed_event(sandbox: LocalSandbox, control: SandboxClient, webhook: Receiver) -> None:
    control.inject_inbound("viber", account=TOKEN, sender=RECEIVER, event="subscribed")

    (callback,) = webhook.wait_for(1)
    assert callback.json()["event"] == "subscribed"
    assert callback.json()["user"]["id"] == RECEIVER
