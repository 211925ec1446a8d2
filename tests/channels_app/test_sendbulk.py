"""Messages/sendbulk: order, all-or-nothing validation, limits, batched writes, progress."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from channels_app.models import Conversation, Message, MessageEvent, Participant
from tests.factories import CustomerFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

SEED = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "seed_requests" / "sendbulk.json").read_text())


def _numbers(count: int, start: int = 0) -> list[str]:
    return [f"+4179{start + i:07d}" for i in range(count)]


def test_the_seed_request_is_answered_in_destination_order(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk", SEED | {"trafficAccountId": str(account.id)}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert [m["destination"] for m in body["messages"]] == ["380981111111", "380982222222"]
    assert all(m["trafficAccountId"] == str(account.id) for m in body["messages"])
    stored = Message.objects.filter(bulk_id=body["bulkId"])
    assert {str(m.id) for m in stored} == {m["messageId"] for m in body["messages"]}
    assert {m.destination for m in stored} == {"+380981111111", "+380982222222"}
    assert all(m.status == "Ready" for m in stored)


def test_v1_serves_sendbulk_too(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post(
        "/api/v1/messages/sendbulk", SEED | {"trafficAccountId": str(account.id)}, format="json"
    )

    assert response.status_code == 200


def test_invalid_destinations_refuse_the_whole_bulk_with_their_indexes(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    destinations = ["+41791234567", "12", "+41791234568", "not-a-number"]

    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(account.id), "destinations": destinations, "sms": {"text": "hi"}},
        format="json",
    )

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["destinations[1]", "destinations[3]"]
    assert not Message.objects.exists()


def test_above_the_limit_is_413(auth_client, settings):
    settings.SENDBULK_MAX_DESTINATIONS = 3
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(account.id), "destinations": _numbers(4), "sms": {"text": "hi"}},
        format="json",
    )

    assert response.status_code == 413
    assert response.json()["maxDestinations"] == 3


def test_empty_destinations_are_refused(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(account.id), "destinations": [], "sms": {"text": "hi"}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "destinations"


def _bulk_queries(auth_client, account, count: int, start: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = auth_client.post(
            "/api/v1.1/Messages/sendbulk",
            {"trafficAccountId": str(account.id), "destinations": _numbers(count, start), "sms": {"text": "hi"}},
            format="json",
        )
    assert response.status_code == 200
    return len(queries)


def test_the_accept_path_does_not_make_a_query_per_destination(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    small = _bulk_queries(auth_client, account, 10, start=0)
    large = _bulk_queries(auth_client, account, 1500, start=1000)

    # Batched inserts: a 150-fold bigger bulk costs at most a few more batch statements.
    assert large <= small + 3
    assert Conversation.objects.filter(traffic_account=account).count() == 1510
    assert MessageEvent.objects.filter(message__bulk_id__isnull=False).count() == 1510


def test_failover_bulk_returns_every_hop_per_destination(auth_client):
    whatsapp = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    sms = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {
            "destinations": _numbers(3),
            "whatsApp": {"type": "regular", "regular": {"type": "text", "text": "hi"}},
            "sms": {"text": "hi"},
            "failover": {
                "type": "Timeout",
                "timeoutFailover": {
                    "timeoutInSeconds": 30,
                    "status": "Delivered",
                    "trafficAccounts": [str(whatsapp.id), str(sms.id)],
                },
            },
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    for entry in response.json()["messages"]:
        first, second = (Message.objects.get(id=i) for i in entry["messageIds"])
        assert entry["messageId"] == str(first.id)
        assert (first.channel, first.status, second.channel, second.status) == ("whatsapp", "Ready", "sms", "Scheduled")
        assert second.failover_chain_id == first.id


def test_bulk_progress_counts_statuses_for_the_owner_only(auth_client, client_for):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    body = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(account.id), "destinations": _numbers(4), "sms": {"text": "hi"}},
        format="json",
    ).json()
    Message.objects.filter(id=body["messages"][0]["messageId"]).update(status="Delivered")

    progress = auth_client.get(f"/api/v1/Messages/bulk/{body['bulkId']}").json()
    foreign = client_for(CustomerFactory()).get(f"/api/v1/Messages/bulk/{body['bulkId']}")

    assert progress == {"bulkId": body["bulkId"], "total": 4, "deliveryStatuses": {"Ready": 3, "Delivered": 1}}
    assert foreign.status_code == 404


def test_a_bulk_is_stamped_with_its_accept_time(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    body = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(account.id), "destinations": _numbers(3000), "sms": {"text": "hi"}},
        format="json",
    ).json()

    stamps = set(Message.objects.filter(bulk_id=body["bulkId"]).values_list("created_at", "triggered_at"))
    assert len(stamps) == 1  # one accept time for the whole bulk, however long the inserts took
    created_at, triggered_at = stamps.pop()
    assert created_at == triggered_at


def _columns(message: Message) -> dict[str, object]:
    return {f.attname: getattr(message, f.attname) for f in Message._meta.concrete_fields}


# Times differ between two sends of the same request; how far each lies from the accept does not.
TIMES = {"updated_at", "triggered_at", "available_at", "queued_until", "failover_deadline"}
# What else differs: identity, destination, conversation, bulk.
PER_SEND = {"id", "destination", "conversation_id", "bulk_id", "failover_chain_id", "created_at", *TIMES}


def _relative_times(message: Message) -> dict[str, object]:
    start = message.created_at
    return {
        name: (value - start if value is not None else None)
        for name, value in _columns(message).items()
        if name in TIMES
    }


def test_bulk_rows_are_the_rows_a_single_send_writes(auth_client):
    whatsapp = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    sms = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    # Characters COPY's text format escapes, JSON escapes, and some that need neither.
    text = 'Tab\there, line\nbreak, back\\slash, "quotes", ünïcödé ✓ and \U0001f600'
    body = {
        "whatsApp": {"type": "regular", "regular": {"type": "text", "text": text}},
        "sms": {"text": text, "sender": "Brand"},
        "failover": {
            "type": "Timeout",
            "timeoutFailover": {
                "timeoutInSeconds": 45,
                "status": "Delivered",
                "trafficAccounts": [str(whatsapp.id), str(sms.id)],
            },
        },
    }

    single = auth_client.post("/api/v1/Message/send", body | {"destination": "+41791230000"}, format="json")
    bulk = auth_client.post("/api/v1.1/Messages/sendbulk", body | {"destinations": ["+41791230001"]}, format="json")

    assert single.status_code == bulk.status_code == 200
    single_hops = [Message.objects.get(id=i) for i in single.json()]
    bulk_hops = [Message.objects.get(id=i) for i in bulk.json()["messages"][0]["messageIds"]]
    for one, many in zip(single_hops, bulk_hops, strict=True):
        assert {k: v for k, v in _columns(many).items() if k not in PER_SEND} == {
            k: v for k, v in _columns(one).items() if k not in PER_SEND
        }
        assert _relative_times(many) == _relative_times(one)
        assert many.failover_chain_id == bulk_hops[0].id
        assert many.conversation.user_identifier == many.destination == "+41791230001"
        events = list(MessageEvent.objects.filter(message=many).values("status", "source", "detail", "occurred_at"))
        assert events == [{"status": many.status, "source": "api", "detail": {}, "occurred_at": many.created_at}]
    assert bulk_hops[0].content["regular"]["text"] == bulk_hops[1].content["text"] == text


def _participants(conversation: Conversation) -> list[tuple[str, str, str, str]]:
    return [(p.role, p.name, p.phone_number, p.messaging_app_identifier) for p in conversation.participants.all()]


def test_new_conversations_get_the_participants_a_single_send_gives_them(auth_client):
    # Phone numbers go through a Business Messages account, Viber user ids through a bot.
    business = TrafficAccountFactory(
        customer=auth_client.customer, channel="viber", viber_kind="business", phone_number="+41790000000"
    )
    bot = TrafficAccountFactory(customer=auth_client.customer, channel="viber", phone_number="+41790000000")
    to_phones = {"viber": {"type": "session", "text": "hi"}, "trafficAccountId": str(business.id)}
    to_users = {"viber": {"type": "regular", "text": "hi"}, "trafficAccountId": str(bot.id)}
    auth_client.post("/api/v1/Message/send", to_phones | {"destination": "+41791234567"}, format="json")
    auth_client.post("/api/v1/Message/send", to_users | {"destination": "AbC+/1="}, format="json")

    responses = [
        auth_client.post("/api/v1.1/Messages/sendbulk", to_phones | {"destinations": ["+41791234568"]}, format="json"),
        auth_client.post("/api/v1.1/Messages/sendbulk", to_users | {"destinations": ["XyZ+/2="]}, format="json"),
    ]

    assert [r.status_code for r in responses] == [200, 200]
    by_user = {
        c.user_identifier: c for c in Conversation.objects.filter(traffic_account__in=[business, bot])
    }
    phone, app_id = _participants(by_user["+41791234567"]), _participants(by_user["AbC+/1="])
    assert _participants(by_user["+41791234568"]) == [phone[0], ("user", "", "+41791234568", "")]
    assert _participants(by_user["XyZ+/2="]) == [app_id[0], ("user", "", "", "XyZ+/2=")]
    assert phone[0] == app_id[0] == ("agent", business.display_name, "+41790000000", "")


def test_existing_conversations_are_reused_as_they_are(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    sms = {"trafficAccountId": str(account.id), "sms": {"text": "hi"}}
    first = auth_client.post("/api/v1/Message/send", sms | {"destination": "+41791234567"}, format="json").json()

    body = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        sms | {"destinations": ["+41791234567", "+41791234568", "41791234568"]},
        format="json",
    ).json()

    messages = [Message.objects.get(id=m["messageId"]) for m in body["messages"]]
    assert str(messages[0].conversation_id) == first["conversation"]["id"]
    assert messages[1].conversation_id == messages[2].conversation_id != messages[0].conversation_id
    assert Conversation.objects.filter(traffic_account=account).count() == 2
    assert Participant.objects.filter(conversation__traffic_account=account).count() == 4


def test_destinations_are_answered_as_written_and_stored_normalised(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    # Surrounding whitespace is not part of a number, JSON escapes some of it.
    written = [" +41 79 123 45 67", 41791234568, "\t0041791234569\u2028"]

    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(account.id), "destinations": written, "sms": {"text": "hi"}},
        format="json",
    )

    assert response.status_code == 200
    entries = response.json()["messages"]
    assert [e["destination"] for e in entries] == [" +41 79 123 45 67", "41791234568", "\t0041791234569\u2028"]
    assert [set(e) for e in entries] == [{"destination", "trafficAccountId", "messageId"}] * 3
    ids = [uuid.UUID(e["messageId"]) for e in entries]
    assert {i.version for i in ids} == {4}
    stored = {str(m.id): m.destination for m in Message.objects.filter(bulk_id=response.json()["bulkId"])}
    assert [stored[str(i)] for i in ids] == ["+41791234567", "+41791234568", "+41791234569"]


def test_an_idempotent_retry_answers_the_same_body(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    body = {"trafficAccountId": str(account.id), "destinations": _numbers(3), "sms": {"text": "hi"}}

    first = auth_client.post("/api/v1.1/Messages/sendbulk", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = auth_client.post("/api/v1.1/Messages/sendbulk", body, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first["Content-Type"] == again["Content-Type"] == "application/json"
    assert Message.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_bulks_to_the_same_people_share_their_conversations(client_for):
    account = TrafficAccountFactory(channel="sms")
    clients = [client_for(account.customer) for _ in range(2)]
    # Overlapping lists in opposite orders: the shared users are locked in one order regardless.
    lists = [_numbers(300), list(reversed(_numbers(300, start=150)))]
    barrier = threading.Barrier(2)
    statuses = []

    def send(client, destinations) -> None:
        try:
            barrier.wait()
            body = {"trafficAccountId": str(account.id), "destinations": destinations, "sms": {"text": "hi"}}
            statuses.append(client.post("/api/v1.1/Messages/sendbulk", body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=pair) for pair in zip(clients, lists, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200, 200]
    assert Conversation.objects.filter(traffic_account=account).count() == 450
    assert Participant.objects.filter(conversation__traffic_account=account).count() == 900
    assert not Message.objects.exclude(conversation__user_identifier=F("destination")).exists()
    assert Message.objects.count() == 600
