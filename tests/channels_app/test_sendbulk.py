"""Messages/sendbulk: order, all-or-nothing validation, limits, batched writes, progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.models import Conversation, Message, MessageEvent
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
