"""Per-destination behaviours: fail, throttle, timeout, times, reports; in each provider's shape."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import Receiver, load_fixture

Send = Callable[[str, requests.Session, str, float], requests.Response]


def _mitto(url: str, http: requests.Session, destination: str, timeout: float) -> requests.Response:
    body = dict(load_fixture("mitto_sms.json"), to=destination)
    return http.post(f"{url}/sms", json=body, headers={"X-Mitto-API-Key": "k"}, timeout=timeout)


def _whatsapp(url: str, http: requests.Session, destination: str, timeout: float) -> requests.Response:
    body = dict(load_fixture("whatsapp_text_message.json"), to=destination)
    return http.post(f"{url}/v21.0/1065/messages", json=body, headers={"Authorization": "Bearer t"}, timeout=timeout)


def _viber(url: str, http: requests.Session, destination: str, timeout: float) -> requests.Response:
    body = dict(load_fixture("viber_text_message.json"), receiver=destination)
    return http.post(f"{url}/pa/send_message", json=body, headers={"X-Viber-Auth-Token": "t"}, timeout=timeout)


def _gbm(url: str, http: requests.Session, destination: str, timeout: float) -> requests.Response:
    return http.post(f"{url}/v1/conversations/{destination}/messages", json=load_fixture("gbm_text_message.json"),
                     headers={"Authorization": "Bearer t"}, timeout=timeout)


def _telegram(url: str, http: requests.Session, destination: str, timeout: float) -> requests.Response:
    return http.post(f"{url}/bot1:t/sendMessage", json={"chat_id": destination, "text": "x"}, timeout=timeout)


SENDS: dict[str, tuple[Send, str]] = {
    "sms": (_mitto, "41790000009"),
    "whatsapp": (_whatsapp, "16505550009"),
    "viber": (_viber, "viberUser0009="),
    "gbm": (_gbm, "conversation-0009"),
    "telegram": (_telegram, "9009"),
}


def _send(sandbox: LocalSandbox, http: requests.Session, channel: str, timeout: float = 5.0) -> requests.Response:
    send, destination = SENDS[channel]
    return send(sandbox.url, http, destination, timeout)


def _succeeded(channel: str, response: requests.Response) -> bool:
    body = response.json()
    return response.status_code == 200 and {
        "sms": lambda: body.get("responseCode") == 0,
        "whatsapp": lambda: bool(body.get("messages")),
        "viber": lambda: body.get("status") == 0,
        "gbm": lambda: bool(body.get("name")),
        "telegram": lambda: body.get("ok") is True,
    }[channel]()


@pytest.mark.parametrize(
    ("channel", "code", "status", "check"),
    [
        ("sms", 6, 400, lambda b: b == {"responseCode": 6, "responseText": "Invalid sender"}),
        ("whatsapp", 131047, 400, lambda b: b["error"]["code"] == 131047 and b["error"]["type"] == "OAuthException"),
        ("viber", 5, 200, lambda b: b["status"] == 5 and b["status_message"] == "receiverNotRegistered"),
        ("gbm", 404, 404, lambda b: b["error"]["code"] == 404 and b["error"]["status"] == "NOT_FOUND"),
        ("telegram", 403, 403, lambda b: b["ok"] is False and b["description"].startswith("Forbidden")),
    ],
)
def test_fail_answers_in_the_providers_error_shape(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session,
    channel: str, code: int, status: int, check: Callable[[dict], bool],
) -> None:
    control.set_behaviour(SENDS[channel][1], "fail", error_code=code)

    response = _send(sandbox, http, channel)

    assert response.status_code == status
    assert check(response.json())


def test_fail_uses_the_given_error_text(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    control.set_behaviour(SENDS["telegram"][1], "fail", error_code=400, error_text="Bad Request: chat not found")

    response = _send(sandbox, http, "telegram")

    assert response.json()["description"] == "Bad Request: chat not found"


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "gbm", "telegram"])
def test_throttle_is_429_with_retry_after(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, channel: str
) -> None:
    control.set_behaviour(SENDS[channel][1], "throttle", retry_after=7)

    response = _send(sandbox, http, channel)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    if channel == "telegram":
        assert response.json()["parameters"] == {"retry_after": 7}
    if channel == "whatsapp":
        assert response.json()["error"]["code"] == 130429


def test_viber_throttle_is_status_12(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    control.set_behaviour(SENDS["viber"][1], "throttle")

    response = _send(sandbox, http, "viber")

    assert response.status_code == 200
    assert response.json()["status"] == 12


def test_timeout_hangs_past_the_clients_patience(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    control.set_behaviour(SENDS["whatsapp"][1], "timeout", timeout_seconds=1.0, times=1)

    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        _send(sandbox, http, "whatsapp", timeout=0.3)
    waited = time.monotonic() - started
    retried = _send(sandbox, http, "whatsapp")

    assert 0.25 < waited < 1.0
    assert _succeeded("whatsapp", retried)


@pytest.mark.parametrize("channel", list(SENDS))
def test_times_applies_to_the_first_n_requests_then_succeeds(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, channel: str
) -> None:
    control.set_behaviour(SENDS[channel][1], "fail", times=2)

    results = [_succeeded(channel, _send(sandbox, http, channel)) for _ in range(4)]

    assert results == [False, False, True, True]


def test_putting_a_behaviour_again_restarts_its_count(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    control.set_behaviour(SENDS["sms"][1], "fail", times=1)
    _send(sandbox, http, "sms")

    control.set_behaviour(SENDS["sms"][1], "fail", times=1)

    assert not _succeeded("sms", _send(sandbox, http, "sms"))


def test_behaviours_are_per_destination(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    control.set_behaviour("41790000001", "fail")

    other = _mitto(sandbox.url, http, "41790000002", 5)

    assert _succeeded("sms", other)


def test_clearing_a_behaviour_restores_success(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    control.set_behaviour(SENDS["viber"][1], "fail")

    control.clear_behaviour(SENDS["viber"][1])

    assert _succeeded("viber", _send(sandbox, http, "viber"))
    assert control.behaviour(SENDS["viber"][1]) is None


def test_a_destination_with_a_plus_is_the_same_destination(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    control.set_behaviour("+41790000001", "fail", error_code=8)

    response = _mitto(sandbox.url, http, "+41790000001", 5)

    assert response.json()["responseCode"] == 8


def test_failed_send_schedules_no_report(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    control.register_whatsapp("1065", webhook_url=f"{inbox.url}/wa", app_secret="s")
    control.set_behaviour(SENDS["whatsapp"][1], "fail")

    _send(sandbox, http, "whatsapp")

    assert control.stats()["callbacksPending"] == 0


def test_report_none_sends_nothing_and_delay_is_honoured(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    control.register_whatsapp("1065", webhook_url=f"{inbox.url}/wa", app_secret="s")
    control.set_behaviour("16505550001", report="none")
    control.set_behaviour("16505550002", report="delivered", report_delay_seconds=0.6)

    _whatsapp(sandbox.url, http, "16505550001", 5)
    sent_at = time.monotonic()
    _whatsapp(sandbox.url, http, "16505550002", 5)

    (webhook,) = inbox.wait_for(1)
    assert time.monotonic() - sent_at >= 0.55
    assert webhook.json()["entry"][0]["changes"][0]["value"]["statuses"][0]["recipient_id"] == "16505550002"
    time.sleep(0.2)
    assert len(inbox.received) == 1


def test_default_report_delay_follows_the_runtime_setting(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    control.register_whatsapp("1065", webhook_url=f"{inbox.url}/wa", app_secret="s")
    control.update_settings(report_delay_seconds=0.5)

    sent_at = time.monotonic()
    _send(sandbox, http, "whatsapp")

    inbox.wait_for(1)
    assert time.monotonic() - sent_at >= 0.45


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "explode"},
        {"outcome": "fail", "times": 0},
        {"report": "maybe"},
        {"timeoutSeconds": -1},
        {"outcome": "fail", "colour": "red"},
    ],
)
def test_invalid_behaviours_are_refused(sandbox: LocalSandbox, control: SandboxClient, body: dict) -> None:
    response = requests.put(f"{sandbox.url}/_sandbox/behaviours/41790000001", json=body, timeout=5)

    assert response.status_code == 400
    assert response.json()["error"]


def test_behaviours_can_be_listed_and_cleared(control: SandboxClient) -> None:
    control.set_behaviour("41790000001", "fail", error_code=8)
    control.set_behaviour("41790000002", "throttle", retry_after=3)

    listed = control.behaviours()
    control.clear_behaviours()

    assert listed == {
        "41790000001": {"outcome": "fail", "errorCode": 8},
        "41790000002": {"outcome": "throttle", "retryAfter": 3.0},
    }
    assert control.behaviours() == {}


def test_a_viber_user_id_with_slash_and_plus_keeps_its_behaviour(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    user_id = "+ab/CD12ef=="
    control.set_behaviour(user_id, "fail", error_code=6)

    response = _viber(sandbox.url, http, user_id, 5)

    assert response.json()["status"] == 6
    assert control.behaviours() == {user_id: {"outcome": "fail", "errorCode": 6}}
    assert [r["destination"] for r in control.requests(destination=user_id)] == [user_id]
