"""Telegram Bot API updates: authenticated by the webhook's secret token, routed by ``?ta=``."""

from __future__ import annotations

import pytest

from channels_app.models import Conversation, Message
from tests.channels_app.callbacks.helpers import fixture_bytes, row_counts, sent_message
from tests.factories import DEFAULT_CREDENTIALS, TrafficAccountFactory

pytestmark = pytest.mark.django_db

SECRET = DEFAULT_CREDENTIALS["telegram"]["secret_token"]
CHAT = "1861312834"


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="telegram")


def post(client, account, name: str, secret: str | None = SECRET):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post(f"/callbacks/telegram?ta={account.id}", data=fixture_bytes("telegram", name),
                       content_type="application/json", headers=headers)


def test_a_user_message_joins_a_new_conversation_once(client, account):
    first = post(client, account, "message_text")
    after_first = row_counts()
    again = post(client, account, "message_text")

    assert (first.status_code, again.status_code) == (200, 200)
    assert row_counts() == after_first
    message = Message.objects.get(traffic_account=account, direction=Message.INBOUND)
    assert (message.destination, message.provider_message_id) == (CHAT, "918273645")
    assert message.content == {"type": "text", "text": "Hello bot"}
    conversation = Conversation.objects.get(traffic_account=account, user_identifier=CHAT)
    assert sorted(conversation.participants.values_list("role", "name", "messaging_app_identifier")) == [
        ("agent", "Gateway Demo", "telegram_agent"),
        ("user", "Ana Horvat", CHAT),
    ]


def test_a_blocked_bot_makes_the_user_unreachable(client, account):
    sent_message(account, destination=CHAT)

    response = post(client, account, "my_chat_member_kicked")

    assert response.status_code == 200
    assert Conversation.objects.get(traffic_account=account, user_identifier=CHAT).user_reachable is False


@pytest.mark.parametrize("secret", [None, "", "tg-secreT"], ids=["missing", "empty", "one-byte-changed"])
def test_an_update_without_the_secret_is_refused_and_writes_nothing(client, account, secret):
    before = row_counts()

    response = post(client, account, "message_text", secret=secret)

    assert response.status_code == 401
    assert row_counts() == before


def test_an_account_without_a_secret_accepts_no_updates(client):
    account = TrafficAccountFactory(channel="telegram", credentials={"bot_token": "123456:telegram-token"})

    assert post(client, account, "message_text", secret="").status_code == 401
    assert post(client, account, "message_text", secret="anything").status_code == 401


def test_a_malformed_update_with_the_secret_is_a_bad_request(client, account):
    response = client.post(f"/callbacks/telegram?ta={account.id}", data=b"update_id=1",
                           content_type="application/x-www-form-urlencoded",
                           headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})

    assert response.status_code == 400


def test_another_bots_secret_does_not_open_this_account(client, account):
    other = TrafficAccountFactory(
        channel="telegram", credentials={"bot_token": "654321:other", "secret_token": "other-secret"}
    )

    assert post(client, account, "message_text", secret="other-secret").status_code == 401
    assert post(client, other, "message_text", secret="other-secret").status_code == 200
