"""The callback scheduler and senders: exactly-once claims, retries with backoff, the log."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import Receiver, load_fixture

KEY = {"X-Mitto-API-Key": "k"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    """Two senders claiming from the same schedule, as two gunicorn workers would."""
    with LocalSandbox(senders=2, report_delay=0.0, callback_backoff=0.05, callback_attempts=3) as running:
        yield running


def _sms(sandbox: LocalSandbox, http: requests.Session, callback: str, to: str = "41791234567") -> dict:
    body = dict(load_fixture("mitto_sms.json"), to=to, callback=callback)
    return http.post(f"{sandbox.url}/sms", json=body, headers=KEY).json()


def test_each_callback_is_delivered_once_with_two_senders(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    assert len(sandbox.senders) == 2 and all(s.running for s in sandbox.senders)

    ids = [_sms(sandbox, http, f"{inbox.url}/dlr", to=f"417900{n:05d}")["id"] for n in range(150)]

    inbox.wait_for(150)
    time.sleep(0.3)
    delivered = Counter(r.json()["messageId"] for r in inbox.received)
    assert set(delivered) == set(ids)
    assert max(delivered.values()) == 1
    assert control.stats()["callbacks"]["sms"] == {"ok": 150}


def test_a_failed_post_is_retried_with_backoff(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    inbox.fail_next(2, status=503)

    sent = _sms(sandbox, http, f"{inbox.url}/dlr")

    received = inbox.wait_for(3)
    assert [r.json()["messageId"] for r in received] == [sent["id"]] * 3
    log = control.wait_for_callbacks(3)
    assert [(c["result"], c["statusCode"], c["attempt"]) for c in log] == [
        ("retry", 503, 1), ("retry", 503, 2), ("ok", 200, 3),
    ]


def test_delivery_gives_up_after_the_last_attempt(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    inbox.fail_next(10, status=500)

    _sms(sandbox, http, f"{inbox.url}/dlr")

    log = control.wait_for_callbacks(3)
    assert [c["result"] for c in log] == ["retry", "retry", "gave_up"]
    time.sleep(0.3)
    assert len(inbox.received) == 3
    assert control.stats()["callbacksPending"] == 0


def test_unreachable_receiver_is_logged_as_an_error(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    _sms(sandbox, http, "http://127.0.0.1:9/dlr")

    first = control.wait_for_callbacks(1)[0]
    assert first["result"] == "retry"
    assert first["statusCode"] is None
    assert "ConnectionRefusedError" in first["error"]


def test_a_report_without_a_webhook_is_logged_as_no_target(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    http.post(f"{sandbox.url}/v21.0/42/messages", json=load_fixture("whatsapp_text_message.json"),
              headers={"Authorization": "Bearer t"})

    (entry,) = control.wait_for_callbacks(1)
    assert (entry["channel"], entry["result"]) == ("whatsapp", "no_target")


def test_retried_multi_event_reports_keep_their_order(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    control.register_whatsapp("42", webhook_url=f"{inbox.url}/wa", app_secret="s")
    control.set_behaviour("16505551234", report="read")
    inbox.fail_next(1)

    http.post(f"{sandbox.url}/v21.0/42/messages", json=load_fixture("whatsapp_text_message.json"),
              headers={"Authorization": "Bearer t"})

    received = inbox.wait_for(3)
    statuses = [r.json()["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for r in received]
    assert statuses == ["delivered", "delivered", "read"]
