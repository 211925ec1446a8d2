"""Test mode on every channel: an account in test mode, or a request with ``"test": true``,
never calls the provider, and the message walks the statuses the provider would report."""

from __future__ import annotations

import pytest
import responses

from channels_app.models import DispatchAttempt, Message
from channels_app.services.dispatch import messages_dispatch
from tests.factories import TrafficAccountFactory
from webhooks_app.models import Webhook, WebhookDelivery, WebhookTrafficAccount

pytestmark = pytest.mark.django_db

REQUESTS = {
    "sms": ("+41751231234", {"text": "Hi"}),
    "whatsapp": ("+41751231234", {"type": "regular", "regular": {"type": "text", "text": "Hi"}}),
    "viber": ("01234567890A=", {"type": "session", "text": "Hi"}),
    "gbm": ("bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0", {
        "text": {"message": "Hi"}, "representative": {"displayName": "Mark", "representativeType": "HUMAN"},
    }),
    "telegram": ("1861312834", {"text": {"message": "Hi"}}),
}
# Telegram bots get no receipts: the provider's acceptance is final there, in test mode too.
FINAL = {"sms": "Delivered", "whatsapp": "Delivered", "viber": "Delivered", "gbm": "Delivered", "telegram": "Sent"}


def _send(auth_client, account, **extra) -> Message:
    destination, content = REQUESTS[account.channel]
    body = {"trafficAccountId": str(account.id), "destination": destination, account.channel: content} | extra
    response = auth_client.post("/api/v1/Message/send", body, format="json")
    assert response.status_code == 200, response.json()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as provider:
        messages_dispatch([response.json()["messageId"]])
        assert len(provider.calls) == 0  # nothing reached any provider
    return Message.objects.get(id=response.json()["messageId"])


@pytest.mark.parametrize("channel", list(REQUESTS))
def test_an_account_in_test_mode_never_calls_its_provider_and_reports_like_it(auth_client, channel):
    account = TrafficAccountFactory(customer=auth_client.customer, channel=channel, test_mode=True)
    webhook = Webhook.objects.create(customer=auth_client.customer, name="crm", url="https://203.0.113.10/hook",
                                     triggers=["Delivered"])
    WebhookTrafficAccount.objects.create(webhook=webhook, traffic_account=account)

    message = _send(auth_client, account)

    assert message.status == FINAL[channel]
    assert message.provider_message_id == f"test-{message.id.hex}"
    history = list(message.events.order_by("occurred_at", "id").values_list("status", "source"))
    expected_tail = [("Sent", "dispatch")] + ([("Delivered", "test")] if FINAL[channel] == "Delivered" else [])
    assert history[-len(expected_tail):] == expected_tail
    assert DispatchAttempt.objects.get(message=message).outcome == "sent"
    delivered = WebhookDelivery.objects.filter(webhook=webhook, message_id=message.id)
    assert delivered.count() == (1 if FINAL[channel] == "Delivered" else 0)


@pytest.mark.parametrize("channel", ["sms", "viber"])
def test_a_request_with_test_true_is_simulated_on_a_live_account(auth_client, channel):
    account = TrafficAccountFactory(customer=auth_client.customer, channel=channel)

    message = _send(auth_client, account, test=True)

    assert (message.is_test, message.status) == (True, "Delivered")


def test_test_must_be_a_boolean(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    destination, content = REQUESTS["sms"]

    response = auth_client.post("/api/v1/Message/send", {
        "trafficAccountId": str(account.id), "destination": destination, "sms": content, "test": "yes",
    }, format="json")

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["test"]
