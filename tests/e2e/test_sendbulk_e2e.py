"""A 10,000-destination sendbulk is accepted and fully dispatched to the sandbox by a real worker."""

from __future__ import annotations

import pytest

from channels_app.models import Message
from channels_app.status import Status
from tests.e2e.conftest import wait_until
from tests.factories import TrafficAccountFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_ten_thousand_destinations_are_accepted_and_dispatched(auth_client, sandbox, celery_worker, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # reports are not part of this test
    sandbox.client.update_settings(report_delay_seconds=3600)
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url=sandbox.url)
    destinations = [f"+4179{i:07d}" for i in range(10_000)]

    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(account.id), "destinations": destinations, "sms": {"text": "Hello bulk"}},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert len(body["messages"]) == 10_000
    assert [m["destination"] for m in body["messages"][:3]] == destinations[:3]
    bulk = Message.objects.filter(bulk_id=body["bulkId"])

    wait_until(lambda: not bulk.exclude(status=Status.SENT).exists(), timeout=240, interval=1.0)

    assert bulk.filter(status=Status.SENT).exclude(provider_message_id="").count() == 10_000
    assert sandbox.client.stats()["requests"]["sms"] == 10_000
    progress = auth_client.get(f"/api/v1/Messages/bulk/{body['bulkId']}").json()
    assert progress["deliveryStatuses"] == {"Sent": 10_000}
