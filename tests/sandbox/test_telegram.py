"""Telegram Bot API: send methods, webhook methods, errors, updates with the secret header."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import Receiver, load_fixture

TOKEN = "123456789:AAE-sandbox_bot-token"
SECRET = "update-secret_1"


def _url(sandbox: LocalSandbox, method: str, token: str = TOKEN) -> str:
    return f"{sandbox.url}/bot{token}/{method}"


def test_send_message_success(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    response = http.post(_url(sandbox, "sendMessage"), json=load_fixture("telegram_send_message.json"))

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    message = body["result"]
    assert isinstance(message["message_id"], int)
    assert message["chat"] == {"id": 123456789, "first_name": "Sandbox", "last_name": "User", "type": "private"}
    assert message["from"]["id"] == 123456789
    assert message["from"]["is_bot"] is True
    assert message["text"] == "Hello from the gateway"
    assert abs(message["date"] - time.time()) < 60


@pytest.mark.parametrize(
    ("method", "fields", "key"),
    [
        ("sendPhoto", {"photo": "https://example.com/a.jpg", "caption": "A"}, "photo"),
        ("sendDocument", {"document": "https://example.com/a.pdf"}, "document"),
        ("sendVideo", {"video": "https://example.com/a.mp4"}, "video"),
        ("sendVoice", {"voice": "https://example.com/a.ogg"}, "voice"),
        ("sendLocation", {"latitude": 47.37, "longitude": 8.54}, "location"),
    ],
)
def test_media_methods(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, method: str, fields: dict, key: str
) -> None:
    response = http.post(_url(sandbox, method), json={"chat_id": 42, **fields})

    assert response.json()["ok"] is True
    assert key in response.json()["result"]


def test_form_and_query_parameters_work(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    form = http.post(_url(sandbox, "sendMessage"), data={"chat_id": "42", "text": "form"})
    query = http.get(_url(sandbox, "sendMessage"), params={"chat_id": "42", "text": "query"})

    assert form.json()["result"]["text"] == "form"
    assert query.json()["result"]["text"] == "query"


def test_invalid_token_is_401(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    response = http.post(_url(sandbox, "sendMessage", token="invalid"), json={"chat_id": 1, "text": "x"})

    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


@pytest.mark.parametrize(
    ("method", "body", "description"),
    [
        ("sendMessage", {"chat_id": 1}, "Bad Request: message text is empty"),
        ("sendMessage", {"text": "x"}, "Bad Request: chat_id is empty"),
        ("sendPhoto", {"chat_id": 1}, "Bad Request: there is no photo in the request"),
        ("sendMessage", {"chat_id": 1, "text": "x" * 4097}, "Bad Request: message is too long"),
    ],
)
def test_bad_requests(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, method: str, body: dict, description: str
) -> None:
    response = http.post(_url(sandbox, method), json=body)

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error_code": 400, "description": description}


def test_unknown_method_is_404(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    response = http.post(_url(sandbox, "sendTelepathy"), json={})

    assert response.status_code == 404
    assert response.json()["ok"] is False


def test_webhook_methods(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    url = "http://127.0.0.1:9/callbacks/telegram?ta=account-1"

    set_response = http.post(_url(sandbox, "setWebhook"), json={"url": url, "secret_token": SECRET})
    info = http.get(_url(sandbox, "getWebhookInfo")).json()
    deleted = http.post(_url(sandbox, "deleteWebhook")).json()
    after = http.get(_url(sandbox, "getWebhookInfo")).json()

    assert set_response.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    assert info["result"]["url"] == url
    assert info["result"]["pending_update_count"] == 0
    assert deleted == {"ok": True, "result": True, "description": "Webhook was deleted"}
    assert after["result"]["url"] == ""


def test_bad_secret_token_is_refused(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    response = http.post(_url(sandbox, "setWebhook"), json={"url": "https://example.com", "secret_token": "no spaces!"})

    assert response.status_code == 400
    assert "secret token" in response.json()["description"]


def test_sends_get_no_receipts(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    control.register_telegram(TOKEN, url="http://127.0.0.1:9/never")

    http.post(_url(sandbox, "sendMessage"), json=load_fixture("telegram_send_message.json"))

    assert control.stats()["callbacksPending"] == 0
    assert control.requests(channel="telegram")[-1]["outcome"] == "success"


def test_inbound_update_carries_the_secret_header(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    webhook = {"url": f"{inbox.url}/callbacks/telegram?ta=a1", "secret_token": SECRET}
    http.post(_url(sandbox, "setWebhook"), json=webhook)

    control.inject_inbound("telegram", account=TOKEN, sender="555000111", text="/start", name="Ana")
    control.inject_inbound("telegram", account=TOKEN, sender="555000111", text="again")

    # Concurrent sender threads may post them in either order (as Telegram may): update_id orders them.
    first, second = sorted(inbox.wait_for(2), key=lambda received: received.json()["update_id"])
    assert [r.headers["x-telegram-bot-api-secret-token"] for r in (first, second)] == [SECRET, SECRET]
    assert first.query == {"ta": "a1"}
    update = first.json()
    assert update["message"]["text"] == "/start"
    assert update["message"]["from"] == {"id": 555000111, "is_bot": False, "first_name": "Ana", "language_code": "en"}
    assert update["message"]["chat"]["id"] == 555000111
    assert second.json()["message"]["text"] == "again"
    assert second.json()["update_id"] > update["update_id"]


@pytest.mark.parametrize(("kind", "key"), [("callback", "callback_query"), ("blocked", "my_chat_member")])
def test_inbound_other_updates(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, kind: str, key: str
) -> None:
    control.register_telegram(TOKEN, url=f"{inbox.url}/tg", secret_token=SECRET)

    control.inject_inbound("telegram", account=TOKEN, sender="555000111", message_type=kind, payload="yes")

    (update,) = inbox.wait_for(1)
    assert key in update.json()
