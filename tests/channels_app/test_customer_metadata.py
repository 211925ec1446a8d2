"""A customer's ``reference`` and ``metadata`` on send and sendbulk: bounded, stored with each
message (every hop of a chain), answered in lookups, a list and statistics filter, and carried in
every webhook about the message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Message
from channels_app.services.transitions import message_transition
from channels_app.status import Status
from tests.factories import TrafficAccountFactory
from webhooks_app.models import Webhook, WebhookDelivery, WebhookTrafficAccount

pytestmark = pytest.mark.django_db

TAGS = {"reference": "Campaign 2019-05, B-split", "metadata": {"campaign": "2019-05", "split": "B"}}


@pytest.fixture
def sms(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms")


def _send(client, account, **extra):
    body = {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}} | extra
    return client.post("/api/v1/Message/send", body, format="json")


def test_send_stores_and_answers_reference_and_metadata(auth_client, sms):
    response = _send(auth_client, sms, **TAGS)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["reference"], body["metadata"]) == (TAGS["reference"], TAGS["metadata"])
    message = Message.objects.get(id=body["messageId"])
    assert (message.reference, message.metadata) == (TAGS["reference"], TAGS["metadata"])
    lookup = auth_client.get(f"/api/v1/Message/{message.id}").json()
    assert (lookup["reference"], lookup["metadata"]) == (TAGS["reference"], TAGS["metadata"])


def test_untagged_messages_answer_null_reference_and_empty_metadata(auth_client, sms):
    body = _send(auth_client, sms).json()

    assert (body["reference"], body["metadata"]) == (None, {})


@pytest.mark.parametrize(
    ("tags", "path"),
    [
        ({"reference": "x" * 101}, "reference"),
        ({"reference": 12}, "reference"),
        ({"metadata": ["a"]}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(11)}}, "metadata"),
        ({"metadata": {"k" * 41: "v"}}, "metadata." + "k" * 41),
        ({"metadata": {"k": "v" * 257}}, "metadata.k"),
        ({"metadata": {"k": {"nested": "no"}}}, "metadata.k"),
        ({"metadata": {"k": 1}}, "metadata.k"),
    ],
)
def test_out_of_bounds_tags_are_400_with_their_path(auth_client, sms, tags, path):
    response = _send(auth_client, sms, **tags)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert path in {error["path"] for error in response.json()["errors"]}
    assert not Message.objects.exists()


def test_the_largest_allowed_tags_are_accepted(auth_client, sms):
    metadata = {f"{i:02d}" + "k" * 38: "v" * 256 for i in range(10)}

    response = _send(auth_client, sms, reference="r" * 100, metadata=metadata)

    assert response.status_code == 200, response.json()
    assert Message.objects.get().metadata == metadata


def test_every_hop_of_a_failover_chain_carries_the_tags(auth_client, sms):
    whatsapp = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    response = auth_client.post(
        "/api/v1/Message/send",
        {
            "destination": "+41751231234",
            "sms": {"text": "hi"},
            "whatsapp": {"type": "regular", "regular": {"type": "text", "text": "hi"}},
            "failover": {
                "type": "Timeout",
                "timeoutFailover": {"timeoutInSeconds": 20, "trafficAccounts": [str(whatsapp.id), str(sms.id)]},
            },
            **TAGS,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert {(m.reference, m.metadata["split"]) for m in Message.objects.all()} == {(TAGS["reference"], "B")}
    assert Message.objects.count() == 2


def test_sendbulk_stores_the_tags_with_every_message(auth_client, sms):
    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(sms.id), "destinations": ["+41751231234", "+41751231235"], "sms": {"text": "hi"}}
        | TAGS,
        format="json",
    )

    assert response.status_code == 200, response.content
    rows = Message.objects.values_list("reference", "metadata")
    assert list(rows) == [(TAGS["reference"], TAGS["metadata"])] * 2


def test_sendbulk_refuses_out_of_bounds_tags(auth_client, sms):
    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(sms.id), "destinations": ["+41751231234"], "sms": {"text": "hi"}}
        | {"reference": "x" * 101},
        format="json",
    )

    assert response.status_code == 400
    assert not Message.objects.exists()


def test_reference_filters_lists_and_statistics(auth_client, sms):
    tagged = _send(auth_client, sms, reference="order-1").json()["messageId"]
    _send(auth_client, sms, reference="order-2")
    _send(auth_client, sms)

    listed = auth_client.get("/api/v1/Messages?reference=order-1").json()["results"]
    assert [m["messageId"] for m in listed] == [tagged]
    now = timezone.now()
    window = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    statistics = auth_client.get("/api/v1/statistics", window | {"reference": "order-1"}).json()
    assert statistics["total"] == 1


def test_every_webhook_about_the_message_carries_the_tags(auth_client, sms):
    webhook = Webhook.objects.create(
        customer=auth_client.customer, name="", url="https://203.0.113.10/hook", triggers=["Delivered", "Read"]
    )
    WebhookTrafficAccount.objects.create(webhook=webhook, traffic_account=sms)
    message = Message.objects.get(id=_send(auth_client, sms, **TAGS).json()["messageId"])
    Message.objects.filter(id=message.id).update(status=Status.SENT)
    message.refresh_from_db()

    assert message_transition(message=message, status=Status.DELIVERED, source="provider")
    assert message_transition(message=message, status=Status.READ, source="provider")

    payloads = [d.payload for d in WebhookDelivery.objects.order_by("created_at")]
    assert [p["eventType"] for p in payloads] == ["Delivered", "Read"]
    assert all((p["reference"], p["metadata"]) == (TAGS["reference"], TAGS["metadata"]) for p in payloads)


def test_a_nul_in_channel_content_is_a_400_at_its_path(auth_client, sms):
    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(sms.id), "destination": "+41751231234", "sms": {"text": "a\x00b"}},
        format="json",
    )

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["sms.text"]
    assert not Message.objects.exists()
