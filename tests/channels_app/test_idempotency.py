"""Idempotency-Key: a retried send is answered the same way and sends nothing new."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import IdempotencyRecord, Message
from channels_app.services.idempotency import idempotency_records_expire
from tests.factories import CustomerFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_body(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    return {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}}


def test_a_retry_with_the_same_key_replays_the_first_answer(auth_client, request_body):
    first = auth_client.post("/api/v1/Message/send", request_body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    again = auth_client.post("/api/v1/Message/send", request_body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Message.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(auth_client, request_body):
    auth_client.post("/api/v1/Message/send", request_body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")

    response = auth_client.post(
        "/api/v1/Message/send",
        request_body | {"destination": "+41751231235"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-42",
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("idempotency-key-reused")
    assert Message.objects.count() == 1


def test_a_refused_request_does_not_use_up_its_key(auth_client, request_body):
    bad = auth_client.post(
        "/api/v1/Message/send", request_body | {"sms": {"text": ""}}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    good = auth_client.post(
        "/api/v1/Message/send",
        request_body | {"sms": {"text": ""}} | {"sms": {"text": "fixed"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    assert bad.status_code == 400
    assert good.status_code == 200


def test_keys_belong_to_one_customer(auth_client, request_body, client_for):
    other = CustomerFactory()
    other_account = TrafficAccountFactory(customer=other, channel="sms")
    auth_client.post("/api/v1/Message/send", request_body, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    response = client_for(other).post(
        "/api/v1/Message/send",
        request_body | {"trafficAccountId": str(other_account.id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )

    assert response.status_code == 200
    assert Message.objects.count() == 2


def test_sendbulk_is_idempotent_too(auth_client, request_body):
    body = {
        "trafficAccountId": request_body["trafficAccountId"],
        "destinations": ["+41751231234"],
        "sms": {"text": "hi"},
    }

    first = auth_client.post("/api/v1.1/Messages/sendbulk", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    again = auth_client.post("/api/v1.1/Messages/sendbulk", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")

    assert first.json()["bulkId"] == again.json()["bulkId"]
    assert Message.objects.count() == 1


def test_old_records_expire(auth_client, request_body, settings):
    auth_client.post("/api/v1/Message/send", request_body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    auth_client.post("/api/v1/Message/send", request_body, format="json", HTTP_IDEMPOTENCY_KEY="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
    )

    assert idempotency_records_expire() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.parametrize("path", ["/api/v1/Message/send", "/api/v1.1/Messages/sendbulk"])
def test_a_json_array_body_with_a_key_is_a_400_problem(auth_client, path):
    response = auth_client.post(path, [1, 2], format="json", HTTP_IDEMPOTENCY_KEY="array-body")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
