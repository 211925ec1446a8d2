"""WhatsApp Cloud API webhooks: the subscription handshake and signed event POSTs."""

from __future__ import annotations

import json

import pytest

from channels_app.models import Conversation, Message, WhatsAppTemplate
from channels_app.status import Status
from tests.channels_app.callbacks.helpers import (
    fixture_bytes,
    fixture_json,
    one_byte_changed,
    row_counts,
    sent_message,
    statuses,
    whatsapp_signature,
)
from tests.factories import DEFAULT_CREDENTIALS, TrafficAccountFactory
from webhooks_app.models import Webhook, WebhookDelivery, WebhookTrafficAccount

pytestmark = pytest.mark.django_db

STATUS = fixture_json("whatsapp", "status_delivered")["entry"][0]["changes"][0]["value"]["statuses"][0]
MESSAGE_ID = STATUS["biz_opaque_callback_data"]
WAMID = STATUS["id"]


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="whatsapp")


@pytest.fixture
def message(account):
    return sent_message(account, destination="+16505551234", message_id=MESSAGE_ID, provider_message_id=WAMID)


def url(account) -> str:
    return f"/callbacks/whatsapp/{account.id}"


VALID = "valid"


def post(client, account, body: bytes, signature: str | None = VALID):
    """POST ``body`` signed correctly, with the given signature header, or (None) without one."""
    headers = {}
    if signature is not None:
        headers["X-Hub-Signature-256"] = whatsapp_signature(body) if signature == VALID else signature
    return client.post(url(account), data=body, content_type="application/json", headers=headers)


def post_fixture(client, account, name: str):
    return post(client, account, fixture_bytes("whatsapp", name))


# ---- subscription handshake -------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge_for_our_verify_token(client, account):
    response = client.get(url(account), {
        "hub.mode": "subscribe",
        "hub.verify_token": DEFAULT_CREDENTIALS["whatsapp"]["verify_token"],
        "hub.challenge": "1158201444",
    })

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guessed", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "wa-verify", "hub.challenge": "1158201444"},
        {"hub.challenge": "1158201444"},
    ],
    ids=["wrong-token", "wrong-mode", "no-token"],
)
def test_the_handshake_is_refused_otherwise(client, account, query):
    response = client.get(url(account), query)

    assert response.status_code == 403
    assert b"1158201444" not in response.content


# ---- statuses -------------------------------------------------------------------------------


def test_a_signed_delivered_status_delivers_the_message(client, message, account):
    response = post_fixture(client, account, "status_delivered")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert statuses(message) == [Status.DELIVERED]


def test_the_same_body_with_one_byte_changed_is_refused_and_writes_nothing(client, message, account):
    body = fixture_bytes("whatsapp", "status_delivered")
    before = row_counts()

    response = post(client, account, one_byte_changed(body, b"1714640129"), signature=whatsapp_signature(body))

    assert response.status_code == 401
    assert row_counts() == before
    message.refresh_from_db()
    assert message.status == Status.SENT


@pytest.mark.parametrize(
    "signature", [None, "", "sha256=", "deadbeef"], ids=["missing", "empty", "prefix-only", "no-prefix"]
)
def test_an_unsigned_status_is_refused(client, message, account, signature):
    before = row_counts()

    response = post(client, account, fixture_bytes("whatsapp", "status_delivered"), signature=signature)

    assert response.status_code == 401
    assert row_counts() == before


def test_a_status_signed_with_another_apps_secret_is_refused(client, message, account):
    body = fixture_bytes("whatsapp", "status_delivered")

    response = post(client, account, body, signature=whatsapp_signature(body, secret="another-app"))

    assert response.status_code == 401
    assert statuses(message) == []


def test_read_after_delivered_reads_the_message(client, message, account):
    post_fixture(client, account, "status_delivered")
    post_fixture(client, account, "status_read")

    message.refresh_from_db()
    assert message.status == Status.READ
    assert statuses(message) == [Status.DELIVERED, Status.READ]


def test_a_failed_status_keeps_metas_code_and_text(client, message, account):
    response = post_fixture(client, account, "status_failed")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.error_code == "131026"
    assert message.error_text == "Message undeliverable: Message Undeliverable."


def test_delivered_after_failed_keeps_the_better_state(client, message, account):
    # Multi-device users: Meta reports a failure on one device, then the delivery on another.
    post_fixture(client, account, "status_failed")
    response = post_fixture(client, account, "status_delivered")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert statuses(message) == [Status.FAILED, Status.DELIVERED]


def test_a_late_sent_status_changes_nothing(client, message, account):
    post_fixture(client, account, "status_read")
    response = post_fixture(client, account, "status_sent")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.READ
    assert statuses(message) == [Status.READ]


def test_a_status_cannot_reach_another_accounts_message(client, message):
    # given: a second WhatsApp account whose app signs a report naming the first account's message
    other = TrafficAccountFactory(channel="whatsapp", customer=message.customer)

    response = post_fixture(client, other, "status_delivered")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_a_malformed_body_with_a_valid_signature_is_a_bad_request(client, account):
    response = post(client, account, b'{"entry": [')

    assert response.status_code == 400


# ---- inbound messages and templates --------------------------------------------------------


def test_an_inbound_message_is_stored_once(client, account):
    first = post_fixture(client, account, "message_text")
    after_first = row_counts()
    again = post_fixture(client, account, "message_text")

    assert (first.status_code, again.status_code) == (200, 200)
    assert row_counts() == after_first
    message = Message.objects.get(traffic_account=account, direction=Message.INBOUND)
    assert message.content == {"type": "text", "text": "Hi, where is my order?"}
    conversation = Conversation.objects.get(traffic_account=account, user_identifier="+16315551234")
    user = conversation.participants.get(role="user")
    assert (user.name, user.phone_number) == ("Kerry Fisher", "+16315551234")


def test_a_template_verdict_updates_the_template(client, account):
    template = WhatsAppTemplate.objects.create(
        traffic_account=account, name="summer_sale", language="de", category="MARKETING"
    )

    response = post_fixture(client, account, "template_status")

    assert response.status_code == 200
    template.refresh_from_db()
    assert (template.status, template.rejected_reason, template.provider_template_id) == (
        "REJECTED", "INVALID_FORMAT", "594425479261597"
    )


# ---- addressing ----------------------------------------------------------------------------


@pytest.mark.parametrize("path_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_account_is_not_found(client, path_id):
    body = fixture_bytes("whatsapp", "status_delivered")

    response = client.post(f"/callbacks/whatsapp/{path_id}", data=body, content_type="application/json",
                           headers={"X-Hub-Signature-256": whatsapp_signature(body)})

    assert response.status_code == 404


def test_an_other_channel_account_is_not_found(client):
    viber = TrafficAccountFactory(channel="viber")

    assert post_fixture(client, viber, "status_delivered").status_code == 404


def test_a_deactivated_account_still_records_reports_but_drops_inbound_messages(client, message, account):
    account.is_active = False
    account.save()
    before = Message.objects.filter(direction=Message.INBOUND).count()

    delivered = post_fixture(client, account, "status_delivered")
    inbound = post_fixture(client, account, "message_text")

    assert (delivered.status_code, inbound.status_code) == (200, 200)
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert Message.objects.filter(direction=Message.INBOUND).count() == before


def test_a_deactivated_account_answers_no_subscription_handshake(client, account):
    account.is_active = False
    account.save()

    response = client.get(url(account), {
        "hub.mode": "subscribe",
        "hub.verify_token": DEFAULT_CREDENTIALS["whatsapp"]["verify_token"],
        "hub.challenge": "1158201444",
    })

    assert response.status_code == 404


def _inbound_body(message: dict) -> bytes:
    body = fixture_json("whatsapp", "message_text")
    original = body["entry"][0]["changes"][0]["value"]["messages"][0]
    body["entry"][0]["changes"][0]["value"]["messages"] = [
        {"from": original["from"], "id": f"wamid.{message['type']}-1", "timestamp": original["timestamp"]} | message
    ]
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("message", "content"),
    [
        (
            {"type": "interactive",
             "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}},
            {"type": "reply", "id": "yes", "text": "Yes"},
        ),
        (
            {"type": "interactive", "interactive": {
                "type": "list_reply", "list_reply": {"id": "slot-2", "title": "Tuesday", "description": "9-12"}}},
            {"type": "reply", "id": "slot-2", "text": "Tuesday", "description": "9-12"},
        ),
        (
            {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {
                "name": "flow", "body": "Sent", "response_json": "{\"flow_token\": \"t1\", \"rating\": \"5\"}"}}},
            {"type": "flowReply", "name": "flow", "text": "Sent", "response": {"flow_token": "t1", "rating": "5"}},
        ),
        (
            {"type": "button", "button": {"payload": "reschedule-42", "text": "Reschedule"}},
            {"type": "reply", "payload": "reschedule-42", "text": "Reschedule"},
        ),
        (
            {"type": "unsupported", "errors": [
                {"code": 131051, "title": "Message type unknown",
                 "error_data": {"details": "Message type is not currently supported"}}]},
            {"type": "unsupported", "providerType": "unsupported", "errorCode": "131051",
             "errorText": "Message type is not currently supported"},
        ),
        (
            {"type": "order", "order": {"catalog_id": "cat-1", "text": "Please hurry", "product_items": [
                {"product_retailer_id": "sku-1", "quantity": 2, "item_price": 9.5, "currency": "EUR"}]}},
            {"type": "order", "catalogId": "cat-1", "text": "Please hurry", "items": [
                {"productRetailerId": "sku-1", "quantity": 2, "itemPrice": 9.5, "currency": "EUR"}]},
        ),
        (
            {"type": "system", "system": {"body": "User changed number", "type": "user_changed_number",
                                          "wa_id": "16315550000"}},
            {"type": "system", "systemType": "user_changed_number", "text": "User changed number",
             "newWaId": "16315550000"},
        ),
    ],
    ids=["button_reply", "list_reply", "nfm_reply", "button", "unsupported", "order", "system"],
)
def test_every_inbound_kind_is_stored_and_becomes_a_user_message_event(client, account, message, content):
    webhook = Webhook.objects.create(customer=account.customer, name="crm", url="https://203.0.113.10/hook",
                                     triggers=["UserMessage"])
    WebhookTrafficAccount.objects.create(webhook=webhook, traffic_account=account)

    response = post(client, account, _inbound_body(message))

    assert response.status_code == 200
    stored = Message.objects.get(traffic_account=account, direction=Message.INBOUND)
    assert stored.content == content
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert (delivery.payload["eventType"], delivery.payload["content"]) == ("UserMessage", content)
