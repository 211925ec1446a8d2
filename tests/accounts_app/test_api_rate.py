"""Per-customer API rate limit: 429 problem+json with Retry-After, per customer, sends included."""

from __future__ import annotations

import time

import pytest

from channels_app.models import Message
from tests.factories import CustomerFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

SEND = "/api/v1/Message/send"


def _send_body(account) -> dict:
    return {"trafficAccountId": str(account.id), "destination": "+41751231234",
            "sms": {"text": "Hi", "sender": "Shop"}}


def test_a_customer_over_its_rate_gets_429_problem_json_with_retry_after(auth_client, settings):
    settings.API_RATE_BURST_SECONDS = 1
    auth_client.customer.api_rate_per_second = 3
    auth_client.customer.save(update_fields=["api_rate_per_second"])
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    answers = [auth_client.post(SEND, _send_body(account), format="json") for _ in range(4)]

    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    refused = answers[3]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("too-many-requests")
    assert int(refused["Retry-After"]) == refused.json()["retryAfter"] >= 1
    assert Message.objects.filter(customer=auth_client.customer).count() == 3  # the refused send cost nothing


def test_the_limit_is_per_customer_and_refills(auth_client, client_for, settings):
    settings.API_RATE_BURST_SECONDS = 1
    auth_client.customer.api_rate_per_second = 2
    auth_client.customer.save(update_fields=["api_rate_per_second"])
    other = client_for(CustomerFactory())

    assert [auth_client.get("/api/v1/Webhook").status_code for _ in range(3)] == [200, 200, 429]
    assert other.get("/api/v1/Webhook").status_code == 200

    time.sleep(0.55)
    assert auth_client.get("/api/v1/Webhook").status_code == 200


def test_the_settings_default_applies_when_the_customer_has_none(auth_client, settings):
    settings.API_RATE_PER_SECOND = 2
    settings.API_RATE_BURST_SECONDS = 1

    assert [auth_client.get("/api/v1/Webhook").status_code for _ in range(3)] == [200, 200, 429]
