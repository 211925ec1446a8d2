"""Free-form objects are bounded at accept time, and a send that crashes still ends Failed."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from channels_app.models import DispatchAttempt, Message
from channels_app.providers.http import _redact_value
from channels_app.services.dispatch import messages_dispatch
from channels_app.status import Status
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> dict:
    node: dict = {"leaf": True}
    for _ in range(depth):
        node = {"Nested": node}
    return node


def _keyboard(extra_button_fields: dict) -> dict:
    return {"Type": "keyboard", "Buttons": [{"ActionType": "reply", "ActionBody": "a", **extra_button_fields}]}


def _send_viber(client, account, keyboard: dict):
    body = {
        "trafficAccountId": str(account.id),
        "destination": "01234567890A=",
        "viber": {"type": "regular", "text": "hi", "keyboard": keyboard},
    }
    return client.post("/api/v1/Message/send", json.dumps(body), content_type="application/json")


@pytest.fixture
def viber_account(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="viber")


def test_a_keyboard_nested_600_deep_is_refused_at_accept_naming_the_path(auth_client, viber_account):
    response = _send_viber(auth_client, viber_account, _keyboard({"Frame": _nested(600)}))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    # The keyboard is level 1, Buttons 2, the button 3, Frame 4: the bound (12) is crossed at
    # the ninth "Nested" below it.
    assert error["path"] == "viber.keyboard.Buttons[0].Frame" + ".Nested" * 9
    assert "deeper than 12" in error["message"]
    assert Message.objects.count() == 0


def test_a_keyboard_within_the_bounds_is_accepted(auth_client, viber_account):
    response = _send_viber(auth_client, viber_account, _keyboard({"Frame": _nested(7)}))

    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    ("extra", "path", "message"),
    [
        ({"Wide": {f"k{i}": i for i in range(101)}}, "viber.keyboard.Buttons[0].Wide", "more than 100 members"),
        ({"Text": "x" * 40_000}, "viber.keyboard", "Larger than 32768 bytes"),
    ],
    ids=["too-many-members", "too-large"],
)
def test_wide_or_large_keyboards_are_refused(auth_client, viber_account, extra, path, message):
    response = _send_viber(auth_client, viber_account, _keyboard(extra))

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"] == path
    assert message in error["message"]


def test_template_components_are_bounded_too(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    components = [{"type": "BODY", "text": "Hi {{1}}", "example": _nested(40)}]

    response = auth_client.post(
        f"/api/v1/trafficAccounts/{account.id}/WhatsAppTemplates/order_update",
        {"category": "UTILITY", "language": "en_US", "components": components},
        format="json",
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"].startswith("components[0].example.Nested")


def test_a_body_nested_beyond_the_json_decoder_is_a_bad_request_not_a_crash(auth_client):
    body = '{"destination": ' + "[" * 5000 + "]" * 5000 + "}"

    response = auth_client.post("/api/v1/Message/send", body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_redaction_walks_any_depth_without_recursion():
    deep: object = "secret-token"
    for _ in range(5000):
        deep = {"k": [deep]}

    redacted = _redact_value(deep, ["secret-token"])

    for _ in range(5000):
        redacted = redacted["k"][0]
    assert redacted == "***"


@responses.activate
def test_a_send_that_crashes_counts_as_an_attempt_and_ends_failed(auth_client, settings, caplog):
    """The provider answers 200 with JSON nested beyond the decoder: the adapter's parsing raises
    RecursionError, which is no SendError. Each crash is an attempt; the last one fails the message."""
    settings.DISPATCH_MAX_ATTEMPTS = 3
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")
    responses.post("https://mitto.test/sms", body="[" * 5000 + "]" * 5000, content_type="application/json")
    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}},
        format="json",
    )
    message_id = response.json()["messageId"]

    with caplog.at_level(logging.ERROR, logger="channels_app.services.dispatch"):
        for _ in range(settings.DISPATCH_MAX_ATTEMPTS):
            Message.objects.filter(id=message_id).update(available_at=timezone.now() - timedelta(seconds=1))
            assert messages_dispatch([message_id]).claimed == 1

    message = Message.objects.get(id=message_id)
    assert message.status == Status.FAILED
    assert message.error_text.startswith("retries exhausted: RecursionError")
    assert list(DispatchAttempt.objects.filter(message_id=message_id).values_list("number", "outcome")) == [
        (1, "crashed"), (2, "crashed"), (3, "crashed"),
    ]
    assert len(responses.calls) == 3
    crash_logs = [r for r in caplog.records if message_id in r.getMessage() and r.exc_info]
    assert len(crash_logs) == 3
    lookup = auth_client.get(f"/api/v1/Message/{message_id}").json()
    assert lookup["deliveryStatus"] == "Failed"


def test_a_null_character_in_a_keyboard_is_refused_not_a_server_error(auth_client, viber_account):
    response = _send_viber(auth_client, viber_account, _keyboard({"Text": "a\u0000b"}))

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"] == "viber.keyboard.Buttons[0].Text"


@responses.activate
def test_a_provider_answer_with_a_null_character_is_logged_and_the_message_sent(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")
    responses.post("https://mitto.test/sms", json={"id": "m-1", "responseCode": 0, "responseText": "ok\u0000"})
    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}},
        format="json",
    )
    message_id = response.json()["messageId"]

    messages_dispatch([message_id])

    assert Message.objects.get(id=message_id).status == Status.SENT
    assert DispatchAttempt.objects.get(message_id=message_id).response["responseText"] == "ok\ufffd"
