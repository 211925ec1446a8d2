"""Viber Bot API callbacks: signed with the bot's auth token, routed by ``?ta=``."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.models import Conversation, Message
from channels_app.status import Status
from tests.channels_app.callbacks.helpers import (
    fixture_bytes,
    fixture_json,
    one_byte_changed,
    row_counts,
    sent_message,
    statuses,
    viber_signature,
)
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

TOKEN = str(fixture_json("viber", "delivered")["message_token"])
USER = fixture_json("viber", "delivered")["user_id"]
VALID = "valid"


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="viber")


@pytest.fixture
def message(account):
    return sent_message(account, destination=USER, provider_message_id=TOKEN)


def post(client, account, body: bytes, signature: str | None = VALID):
    headers = {}
    if signature is not None:
        headers["X-Viber-Content-Signature"] = viber_signature(body) if signature == VALID else signature
    return client.post(f"/callbacks/viber?ta={account.id}", data=body, content_type="application/json",
                       headers=headers)


def post_fixture(client, account, name: str):
    return post(client, account, fixture_bytes("viber", name))


def test_a_signed_delivered_callback_delivers_the_message_by_its_token(client, message, account):
    response = post_fixture(client, account, "delivered")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_seen_after_delivered_reads_the_message(client, message, account):
    post_fixture(client, account, "delivered")
    post_fixture(client, account, "seen")

    message.refresh_from_db()
    assert message.status == Status.READ
    assert statuses(message) == [Status.DELIVERED, Status.READ]


def test_a_duplicate_delivered_callback_records_one_event(client, message, account):
    post_fixture(client, account, "delivered")
    post_fixture(client, account, "delivered")

    assert statuses(message) == [Status.DELIVERED]


def test_a_failed_callback_fails_the_message_with_vibers_description(client, message, account):
    post_fixture(client, account, "failed")

    message.refresh_from_db()
    assert (message.status, message.error_text) == (Status.FAILED, "failure description")


def test_the_same_body_with_one_byte_changed_is_refused_and_writes_nothing(client, message, account):
    body = fixture_bytes("viber", "delivered")
    before = row_counts()

    response = post(client, account, one_byte_changed(body, b"1457764197627"), signature=viber_signature(body))

    assert response.status_code == 401
    assert row_counts() == before
    message.refresh_from_db()
    assert message.status == Status.SENT


@pytest.mark.parametrize("signature", [None, "", "0" * 64], ids=["missing", "empty", "wrong"])
def test_an_unsigned_callback_is_refused(client, message, account, signature):
    before = row_counts()

    response = post(client, account, fixture_bytes("viber", "delivered"), signature=signature)

    assert response.status_code == 401
    assert row_counts() == before


def test_a_report_before_the_send_response_asks_for_a_retry(client, account):
    # given: the message is with Viber and its message_token is not stored yet
    message = sent_message(account, destination=USER, status=Status.SENDING)
    before = row_counts()

    early = post_fixture(client, account, "delivered")

    assert early.status_code == 409
    assert early["Retry-After"]
    assert row_counts() == before
    # when: dispatch records the send response, Viber's retry applies
    Message.objects.filter(id=message.id).update(status=Status.SENT, provider_message_id=TOKEN)
    assert post_fixture(client, account, "delivered").status_code == 200
    assert statuses(message) == [Status.DELIVERED]


def test_a_report_for_an_unknown_message_with_nothing_in_flight_is_acknowledged(client, account):
    before = row_counts()

    response = post_fixture(client, account, "delivered")

    assert response.status_code == 200
    assert row_counts() == before


def test_a_user_message_is_stored_once(client, account):
    first = post_fixture(client, account, "message_text")
    after_first = row_counts()
    again = post_fixture(client, account, "message_text")

    assert (first.status_code, again.status_code) == (200, 200)
    assert row_counts() == after_first
    message = Message.objects.get(traffic_account=account, direction=Message.INBOUND)
    assert (message.destination, message.content) == (USER, {"type": "text", "text": "a message to the service"})
    user = message.conversation.participants.get(role="user")
    assert (user.name, user.messaging_app_identifier) == ("John McClane", USER)


def test_an_unsubscribe_makes_the_user_unreachable(client, message, account):
    response = post_fixture(client, account, "unsubscribed")

    assert response.status_code == 200
    assert Conversation.objects.get(traffic_account=account, user_identifier=USER).user_reachable is False


def test_vibers_webhook_check_is_answered(client, account):
    assert post_fixture(client, account, "webhook").status_code == 200


@pytest.mark.parametrize("query", ["", "?ta=", "?ta=not-a-uuid", "?ta=00000000-0000-0000-0000-000000000000"])
def test_a_callback_without_a_known_account_is_not_found(client, query):
    body = fixture_bytes("viber", "delivered")

    response = client.post(f"/callbacks/viber{query}", data=body, content_type="application/json",
                           headers={"X-Viber-Content-Signature": viber_signature(body)})

    assert response.status_code == 404


def test_get_is_not_allowed(client, account):
    assert client.get(f"/callbacks/viber?ta={account.id}").status_code == 405


def test_a_delivery_callback_costs_the_same_however_many_messages_the_account_has(client):
    def queries_for_report(existing: int) -> int:
        account = TrafficAccountFactory(channel="viber")
        for n in range(existing):
            sent_message(account, destination=f"user-{n}", provider_message_id=f"{n}")
        message = sent_message(account, destination=USER, provider_message_id=TOKEN)
        with CaptureQueriesContext(connection) as captured:
            assert post_fixture(client, account, "delivered").status_code == 200
        message.refresh_from_db()
        assert message.status == Status.DELIVERED
        return len(captured)

    assert queries_for_report(1) == queries_for_report(40)
