"""Message lookup and listing: status, history, failover chain, filters, cursors, isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Message
from channels_app.services.transitions import message_transition
from channels_app.status import Status
from tests.factories import CustomerFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db


def _send(client, account, destination="+41751231234") -> str:
    response = client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": destination, "sms": {"text": "hi"}},
        format="json",
    )
    assert response.status_code == 200
    return response.json()["messageId"]


@pytest.fixture
def account(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms")


def test_lookup_shows_status_provider_id_error_and_history(auth_client, account):
    message_id = _send(auth_client, account)
    message = Message.objects.get(id=message_id)
    Message.objects.filter(id=message_id).update(status=Status.SENDING)
    message.status = Status.SENDING
    message_transition(
        message=message,
        status=Status.SENT,
        source="dispatch",
        from_statuses=[Status.SENDING],
        extra_fields={"provider_message_id": "mitto-1"},
    )
    message_transition(
        message=message, status=Status.FAILED, source="provider", error_code="UNDELIV", error_text="Undeliverable"
    )

    for path in (
        f"/api/v1/Message/{message_id}",
        f"/api/v1/Message?id={message_id}",
        f"/api/v1.1/messages/{message_id}",
    ):
        body = auth_client.get(path).json()
        assert body["messageId"] == message_id
        assert body["deliveryStatus"] == "Failed"
        assert body["providerMessageId"] == "mitto-1"
        assert (body["errorCode"], body["errorText"]) == ("UNDELIV", "Undeliverable")
        assert [h["status"] for h in body["history"]] == ["Ready", "Sent", "Failed"]
        assert all(h["occurredAt"].endswith("Z") for h in body["history"])


def test_lookup_of_a_failover_hop_shows_the_whole_chain(auth_client):
    whatsapp = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    sms = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    ids = auth_client.post(
        "/api/v1/Message/send",
        {
            "destination": "+41751231234",
            "whatsapp": {"type": "regular", "regular": {"type": "text", "text": "hi"}},
            "sms": {"text": "hi"},
            "failover": {
                "type": "Timeout",
                "timeoutFailover": {
                    "timeoutInSeconds": 20,
                    "status": "Delivered",
                    "trafficAccounts": [str(whatsapp.id), str(sms.id)],
                },
            },
        },
        format="json",
    ).json()

    body = auth_client.get(f"/api/v1/Message/{ids[1]}").json()

    assert body["failover"]["outcome"] == "Pending"
    assert [h["messageId"] for h in body["failover"]["hops"]] == ids
    assert [h["deliveryStatus"] for h in body["failover"]["hops"]] == ["Ready", "Scheduled"]


def test_another_customers_message_is_404(auth_client, account, client_for):
    message_id = _send(auth_client, account)
    stranger = client_for(CustomerFactory())

    assert stranger.get(f"/api/v1/Message/{message_id}").status_code == 404
    assert stranger.get(f"/api/v1/Message?id={message_id}").status_code == 404
    assert stranger.get("/api/v1/Messages").json()["results"] == []


def test_unknown_and_malformed_ids_are_404(auth_client):
    assert auth_client.get("/api/v1/Message/8f0b1b4e-0000-4000-8000-000000000000").status_code == 404
    assert auth_client.get("/api/v1/Message?id=not-a-uuid").status_code == 404


def test_list_filters(auth_client, account):
    other_account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    a = _send(auth_client, account, "+41751231234")
    b = _send(auth_client, account, "+41751231235")
    c = _send(auth_client, other_account, "+41751231234")
    Message.objects.filter(id=b).update(status=Status.DELIVERED)
    Message.objects.filter(id=c).update(created_at=timezone.now() - timedelta(days=2))

    def ids(query: str) -> set[str]:
        response = auth_client.get(f"/api/v1/Messages?{query}")
        assert response.status_code == 200, response.json()
        return {m["messageId"] for m in response.json()["results"]}

    assert ids("") == {a, b, c}
    assert ids(f"trafficAccountId={account.id}") == {a, b}
    assert ids("deliveryStatus=Delivered") == {b}
    assert ids("destination=%2B41751231234") == {a, c}
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"createdAfter={since}") == {a, b}
    assert ids(f"createdBefore={since}") == {c}


def test_list_filter_errors_are_problems(auth_client):
    response = auth_client.get("/api/v1/Messages?trafficAccountId=nope&createdAfter=yesterday")

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "trafficAccountId"


def test_cursor_pagination_walks_every_message_once(auth_client, account):
    sent = {_send(auth_client, account, f"+4175123123{i}") for i in range(7)}

    seen: list[str] = []
    url = "/api/v1/Messages?pageSize=3"
    while url:
        page = auth_client.get(url).json()
        seen.extend(m["messageId"] for m in page["results"])
        url = page["next"]

    assert len(seen) == 7
    assert set(seen) == sent


def test_delivery_status_filter_is_case_insensitive(auth_client, account):
    delivered = _send(auth_client, account)
    _send(auth_client, account, "+41751231235")
    Message.objects.filter(id=delivered).update(status=Status.DELIVERED)

    for spelling in ("delivered", "DELIVERED", "Delivered"):
        results = auth_client.get(f"/api/v1/Messages?deliveryStatus={spelling}").json()["results"]
        assert [m["messageId"] for m in results] == [delivered]


def test_an_unknown_delivery_status_is_a_400_listing_the_valid_ones(auth_client, account):
    _send(auth_client, account)

    response = auth_client.get("/api/v1/Messages?deliveryStatus=Deliverd")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error["path"] == "deliveryStatus"
    assert "Delivered" in error["message"] and "Created" in error["message"]


def test_created_selects_triggered_messages_and_leaves_waiting_hops_out(auth_client, account):
    whatsapp = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    response = auth_client.post(
        "/api/v1/Message/send",
        {
            "destination": "+41751231234",
            "sms": {"text": "hi"},
            "whatsapp": {"type": "regular", "regular": {"type": "text", "text": "hi"}},
            "failover": {
                "type": "Timeout",
                "timeoutFailover": {"timeoutInSeconds": 20, "trafficAccounts": [str(whatsapp.id), str(account.id)]},
            },
        },
        format="json",
    )
    first, waiting = response.json()

    created = {m["messageId"] for m in auth_client.get("/api/v1/Messages?deliveryStatus=created").json()["results"]}
    scheduled = {m["messageId"] for m in auth_client.get("/api/v1/Messages?deliveryStatus=Scheduled").json()["results"]}

    assert created == {first}
    assert scheduled == {waiting}


@pytest.mark.parametrize("value", ["0", "1001", "x", "null"])
def test_a_bad_page_size_is_a_400(auth_client, value):
    response = auth_client.get(f"/api/v1/Messages?pageSize={value}")

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["pageSize"]
