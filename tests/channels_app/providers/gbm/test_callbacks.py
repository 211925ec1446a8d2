"""Google Business Messages callbacks: ``X-Goog-Signature`` and the webhook verification request."""

from __future__ import annotations

import pytest

from channels_app.models import Message
from channels_app.status import Status
from tests.channels_app.callbacks.helpers import (
    fixture_bytes,
    fixture_json,
    gbm_signature,
    one_byte_changed,
    row_counts,
    sent_message,
    statuses,
)
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

RECEIPT = fixture_json("gbm", "receipt_delivered")
CONVERSATION = RECEIPT["conversationId"]
MESSAGE_ID = RECEIPT["receipts"]["receipts"][0]["message"].rsplit("/", 1)[-1]
VALID = "valid"


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="gbm")


@pytest.fixture
def message(account):
    return sent_message(account, destination=CONVERSATION, message_id=MESSAGE_ID, provider_message_id=MESSAGE_ID)


def post(client, account, body: bytes, signature: str | None = VALID):
    headers = {}
    if signature is not None:
        headers["X-Goog-Signature"] = gbm_signature(body) if signature == VALID else signature
    return client.post(f"/callbacks/gbm/{account.id}", data=body, content_type="application/json", headers=headers)


def post_fixture(client, account, name: str, signature: str | None = VALID):
    return post(client, account, fixture_bytes("gbm", name), signature)


def test_receipts_deliver_then_read_the_message(client, message, account):
    delivered = post_fixture(client, account, "receipt_delivered")
    read = post_fixture(client, account, "receipt_read")

    assert (delivered.status_code, read.status_code) == (200, 200)
    message.refresh_from_db()
    assert message.status == Status.READ
    assert statuses(message) == [Status.DELIVERED, Status.READ]


def test_a_late_delivered_receipt_changes_nothing(client, message, account):
    post_fixture(client, account, "receipt_read")
    post_fixture(client, account, "receipt_delivered")

    message.refresh_from_db()
    assert message.status == Status.READ
    assert statuses(message) == [Status.READ]


def test_the_same_body_with_one_byte_changed_is_refused_and_writes_nothing(client, message, account):
    body = fixture_bytes("gbm", "receipt_delivered")
    before = row_counts()

    response = post(client, account, one_byte_changed(body, b"09:21:04"), signature=gbm_signature(body))

    assert response.status_code == 401
    assert row_counts() == before
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_an_unsigned_receipt_is_refused(client, message, account):
    before = row_counts()

    response = post_fixture(client, account, "receipt_delivered", signature=None)

    assert response.status_code == 401
    assert row_counts() == before


def test_a_user_message_is_stored_once(client, account):
    post_fixture(client, account, "message_text")
    after_first = row_counts()
    again = post_fixture(client, account, "message_text")

    assert again.status_code == 200
    assert row_counts() == after_first
    message = Message.objects.get(traffic_account=account, direction=Message.INBOUND)
    assert message.destination == CONVERSATION
    assert message.content == {"type": "text", "text": "Hello, do you have the blue one in stock?"}
    assert message.conversation.participants.get(role="user").name == "Jane Doe"


def test_the_verification_request_with_our_client_token_gets_its_secret_back(client, account):
    response = post_fixture(client, account, "verification", signature=None)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1234567890"


def test_a_signed_verification_request_gets_its_secret_back(client, account):
    response = post_fixture(client, account, "verification_wrong_token")

    assert response.status_code == 200
    assert response.content == b"1234567890"


def test_a_verification_request_with_another_client_token_is_refused(client, account):
    response = post_fixture(client, account, "verification_wrong_token", signature=None)

    assert response.status_code == 401
    assert b"1234567890" not in response.content


def test_an_unknown_account_is_not_found(client):
    body = fixture_bytes("gbm", "verification")

    response = client.post("/callbacks/gbm/00000000-0000-0000-0000-000000000000", data=body,
                           content_type="application/json")

    assert response.status_code == 404
