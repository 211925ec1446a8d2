"""Message/send through the API: the Chat API guide's request examples (docs/chat-api.md) are
accepted and answered in its shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels_app.models import Conversation, Message, MessageEvent
from tests.factories import CustomerFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seed_requests"
SINGLE_SEEDS = sorted(p for p in SEEDS.glob("*.json") if p.stem not in ("failover", "sendbulk"))
CHANNEL_OF = {"sms": "sms", "gbm": "gbm", "telegram": "telegram", "viber": "viber"}


def _seed(name: str) -> dict:
    return json.loads((SEEDS / name).read_text())


@pytest.mark.parametrize("seed", SINGLE_SEEDS, ids=lambda p: p.stem)
def test_every_seed_request_is_accepted(auth_client, seed):
    request = json.loads(seed.read_text())
    channel = CHANNEL_OF[seed.stem.split("_")[0]]
    # The guide's Viber examples to phone numbers are Business Messages; the one to a user id a bot's.
    kind = "business" if channel == "viber" and str(request["destination"]).startswith("+") else "bot"
    account = TrafficAccountFactory(customer=auth_client.customer, channel=channel, viber_kind=kind)
    request["trafficAccountId"] = str(account.id)

    response = auth_client.post("/api/v1/messages/send", request, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["trafficAccountId"] == str(account.id)
    assert body["deliveryStatus"] == "Ready"
    message = Message.objects.get(id=body["messageId"])
    assert message.customer == auth_client.customer
    assert message.channel == channel
    assert body["conversation"]["id"] == str(message.conversation_id)
    assert body["sender"]["id"] == body["conversation"]["participants"][0]["id"]
    assert list(MessageEvent.objects.filter(message=message).values_list("status", flat=True)) == ["Ready"]


def test_response_has_the_seed_shape_for_telegram(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="telegram", display_name="Mitto Telegram")
    request = _seed("telegram_text.json") | {"trafficAccountId": str(account.id)}

    body = auth_client.post("/api/v1/Message/send", request, format="json").json()

    assert set(body) >= {
        "messageId",
        "sender",
        "conversation",
        "createdAt",
        "updatedAt",
        "trafficAccountId",
        "deliveryStatus",
    }
    assert body["sender"] == {
        "id": body["sender"]["id"],
        "messagingAppIdentifier": "telegram_agent",
        "name": "Mitto Telegram",
    }
    assert body["conversation"]["participants"][1] == {"messagingAppIdentifier": "1861312834"}
    assert body["createdAt"].endswith("Z")


def test_sms_records_encoding_and_segments(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    text = "Здравствуй, Мир! " * 5  # 85 UCS-2 units: two segments of 67

    body = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "41751231234", "sms": {"text": text}},
        format="json",
    ).json()

    message = Message.objects.get(id=body["messageId"])
    assert (message.sms_encoding, message.sms_segments) == ("UCS-2", 2)
    assert message.destination == "+41751231234"
    assert body["sms"] == {"encoding": "UCS-2", "segments": 2}
    assert body["conversation"]["participants"][1] == {"phoneNumber": "+41751231234"}


def test_one_conversation_per_account_and_user(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    request = {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}}

    first = auth_client.post("/api/v1/Message/send", request, format="json").json()
    second = auth_client.post("/api/v1/Message/send", request | {"destination": "41751231234"}, format="json").json()
    other = auth_client.post("/api/v1/Message/send", request | {"destination": "+41751231235"}, format="json").json()

    assert first["conversation"]["id"] == second["conversation"]["id"] != other["conversation"]["id"]
    conversation = Conversation.objects.get(id=first["conversation"]["id"])
    assert sorted(conversation.participants.values_list("role", flat=True)) == ["agent", "user"]


def test_validation_errors_point_at_the_field(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="telegram")

    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "1861312834", "telegram": {"text": {"message": ""}}},
        format="json",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [e["path"] for e in response.json()["errors"]] == ["telegram.text.message"]
    assert not Message.objects.exists()


def test_bad_destination_is_refused_with_its_path(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "+1", "sms": {"text": "hi"}},
        format="json",
    )

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["destination"]


def test_content_for_another_channel_is_refused(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post(
        "/api/v1/Message/send",
        {
            "trafficAccountId": str(account.id),
            "destination": "+41751231234",
            "sms": {"text": "hi"},
            "telegram": {"text": {"message": "hi"}},
        },
        format="json",
    )

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["telegram"]


def test_missing_content_for_the_accounts_channel_is_refused(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="viber")

    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}},
        format="json",
    )

    assert response.status_code == 400
    assert {e["path"] for e in response.json()["errors"]} == {"viber", "sms"}


def test_empty_objects_for_other_channels_are_ignored(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post(
        "/api/v1/Message/send",
        {
            "trafficAccountId": str(account.id),
            "destination": "+41751231234",
            "sms": {"text": "hi"},
            "whatsApp": {},
            "viber": {},
            "gbm": {},
            "failover": {},
        },
        format="json",
    )

    assert response.status_code == 200


def test_another_customers_account_is_404_like_a_missing_one(auth_client):
    foreign = TrafficAccountFactory(customer=CustomerFactory(), channel="sms")
    request = {"destination": "+41751231234", "sms": {"text": "hi"}}

    theirs = auth_client.post("/api/v1/Message/send", request | {"trafficAccountId": str(foreign.id)}, format="json")
    missing = auth_client.post(
        "/api/v1/Message/send", request | {"trafficAccountId": "8f0b1b4e-0000-4000-8000-000000000000"}, format="json"
    )

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["type"] == missing.json()["type"]
    assert not Message.objects.exists()


def test_inactive_account_is_refused(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", is_active=False)

    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("traffic-account-inactive")


def test_send_needs_a_traffic_account(auth_client):
    response = auth_client.post(
        "/api/v1/Message/send", {"destination": "+41751231234", "sms": {"text": "hi"}}, format="json"
    )

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["trafficAccountId"]


def test_send_body_must_be_an_object(auth_client):
    response = auth_client.post("/api/v1/Message/send", ["not", "an", "object"], format="json")

    assert response.status_code == 400


def test_failover_send_answers_the_chain_of_ids(auth_client):
    whatsapp = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    sms = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    request = _seed("failover.json")
    request["failover"]["timeoutFailover"]["trafficAccounts"] = [str(whatsapp.id), str(sms.id)]

    response = auth_client.post("/api/v1/messages/send", request, format="json")

    assert response.status_code == 200, response.json()
    ids = response.json()
    assert len(ids) == 2
    first, second = (Message.objects.get(id=i) for i in ids)
    assert (first.channel, first.status, first.failover_position) == ("whatsapp", "Ready", 0)
    assert (second.channel, second.status, second.failover_position) == ("sms", "Scheduled", 1)
    assert first.failover_deadline is not None and second.failover_deadline is None
    assert second.triggered_at is None
    assert first.failover_chain_id == second.failover_chain_id == first.id


def test_an_sms_without_a_sender_is_refused_at_accept_when_the_account_has_no_default(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", sender="")
    body = {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "Hi"}}

    refused = auth_client.post("/api/v1/Message/send", body, format="json")

    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/problem+json"
    assert [e["path"] for e in refused.json()["errors"]] == ["sms.sender"]
    assert not Message.objects.filter(traffic_account=account).exists()

    body["sms"]["sender"] = "DemoBrand"
    assert auth_client.post("/api/v1/Message/send", body, format="json").status_code == 200


def _viber_send(auth_client, account, destination, **viber):
    body = {"trafficAccountId": str(account.id), "destination": destination,
            "viber": {"type": "session", "text": "hi"} | viber}
    return auth_client.post("/api/v1/Message/send", body, format="json")


def test_a_viber_bot_refuses_a_phone_number_at_accept(auth_client):
    bot = TrafficAccountFactory(customer=auth_client.customer, channel="viber")

    refused = _viber_send(auth_client, bot, "+41751231234")
    bulk = auth_client.post("/api/v1.1/Messages/sendbulk", {
        "trafficAccountId": str(bot.id), "destinations": ["01234567890A=", "41751231234"],
        "viber": {"type": "session", "text": "hi"},
    }, format="json")

    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/problem+json"
    (error,) = refused.json()["errors"]
    assert error["path"] == "destination"
    assert "bot" in error["message"] and "phone numbers" in error["message"]
    assert bulk.status_code == 400
    assert [e["path"] for e in bulk.json()["errors"]] == ["destinations[1]"]
    assert _viber_send(auth_client, bot, "01234567890A=").status_code == 200
    assert not Message.objects.filter(traffic_account=bot, destination__startswith="+").exists()


@pytest.mark.parametrize(
    ("fields", "path"),
    [({"type": "transactional"}, "viber.type"), ({"type": "promotional"}, "viber.type"), ({"ttl": 3600}, "viber.ttl")],
)
def test_a_viber_bot_refuses_business_messages_fields_instead_of_dropping_them(auth_client, fields, path):
    bot = TrafficAccountFactory(customer=auth_client.customer, channel="viber")

    response = _viber_send(auth_client, bot, "01234567890A=", **fields)

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == [path]


@pytest.mark.parametrize(
    ("destination", "fields", "path"),
    [
        ("01234567890A=", {}, "destination"),
        ("+41751231234", {"type": "regular"}, "viber.type"),
        ("+41751231234", {"keyboard": {"Type": "keyboard", "Buttons": [{"Text": "Yes"}]}}, "viber.keyboard"),
    ],
)
def test_viber_business_messages_take_phone_numbers_and_their_own_fields(auth_client, destination, fields, path):
    business = TrafficAccountFactory(customer=auth_client.customer, channel="viber", viber_kind="business")

    response = _viber_send(auth_client, business, destination, **fields)

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == [path]
    assert _viber_send(auth_client, business, "+41751231234", type="transactional", ttl=30).status_code == 200
