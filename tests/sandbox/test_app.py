"""Routing, the control API's own validation, and configuration from the environment."""

from __future__ import annotations

import threading
import uuid
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

from sandbox.app import SandboxApp
from sandbox.client import SandboxClient, SandboxError
from sandbox.config import SandboxConfig
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import Receiver, load_fixture


def test_root_and_unknown_paths(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    assert http.get(f"{sandbox.url}/").status_code == 200
    assert http.post(f"{sandbox.url}/nowhere").status_code == 404
    assert http.get(f"{sandbox.url}/_sandbox/nowhere").status_code == 404


def test_health_names_the_key_prefix(sandbox: LocalSandbox, control: SandboxClient) -> None:
    assert control.health() == {"ok": True, "prefix": sandbox.config.key_prefix}


def test_reset_forgets_behaviours_registrations_and_settings(control: SandboxClient) -> None:
    control.set_behaviour("41790000001", "fail")
    control.register_gbm(webhook_url="http://127.0.0.1:9/gbm", client_token="t")
    control.update_settings(template_status="PENDING")

    control.reset()

    assert control.behaviours() == {}
    assert control.registration("gbm") is None
    assert control.settings() == {}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("whatsapp/1", {"webhookUrl": "http://127.0.0.1:9/wa"}),
        ("whatsapp/1", {"webhookUrl": "ftp://x", "appSecret": "s"}),
        ("gbm", {"webhookUrl": "http://127.0.0.1:9/gbm"}),
        ("viber/token", {"event_types": ["delivered"]}),
        ("settings", {"templateStatus": "MAYBE"}),
        ("settings", {"colour": "red"}),
        ("inbound", {"channel": "fax", "account": "x", "from": "1", "text": "hi"}),
        ("inbound", {"channel": "telegram", "account": "1:t", "from": "1", "text": "hi"}),
    ],
)
def test_control_validation(sandbox: LocalSandbox, control: SandboxClient, path: str, body: dict) -> None:
    method = "POST" if path == "inbound" else "PUT"

    response = requests.request(method, f"{sandbox.url}/_sandbox/{path}", json=body, timeout=5)

    assert 400 <= response.status_code < 500
    assert response.json()["error"]


def test_registrations_round_trip(control: SandboxClient) -> None:
    control.register_telegram("1:t", url="http://127.0.0.1:9/tg", secret_token="s3cret")

    assert control.registration("telegram", "1:t") == {
        "url": "http://127.0.0.1:9/tg", "secret_token": "s3cret", "allowed_updates": [], "max_connections": 40,
    }
    with pytest.raises(SandboxError):
        control.register_telegram("1:t", url="not-a-url")


def test_config_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_REDIS_URL", "redis://127.0.0.1:1/3")
    monkeypatch.setenv("SANDBOX_KEY_PREFIX", "bench:")
    monkeypatch.setenv("SANDBOX_REPORT_DELAY", "1.5")

    config = SandboxConfig.from_env(callback_threads=3)

    assert (config.redis_url, config.key_prefix, config.report_delay, config.callback_threads) == (
        "redis://127.0.0.1:1/3", "bench:", 1.5, 3,
    )


def test_the_callback_sender_starts_on_the_first_request_under_a_plain_wsgi_server(inbox: Receiver) -> None:
    app = SandboxApp(SandboxConfig.from_env(key_prefix=f"sandbox-lazy-{uuid.uuid4().hex[:12]}:", report_delay=0.0))
    server = make_server("127.0.0.1", 0, app, handler_class=WSGIRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = dict(load_fixture("mitto_sms.json"), callback=f"{inbox.url}/dlr")

        sent = requests.post(f"http://127.0.0.1:{server.server_port}/sms", json=body,
                             headers={"X-Mitto-API-Key": "k"}, timeout=5).json()

        (dlr,) = inbox.wait_for(1)
        assert dlr.json()["messageId"] == sent["id"]
    finally:
        server.shutdown()
        server.server_close()
        app.stop_background()
        app.state.destroy()
