"""The admin's redeliver action uses the redelivery service: a settled delivery is pending again
with a fresh budget and is published; a pending one or an inactive webhook is reported."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.messages import get_messages

from gateway.redis import get_redis
from tests.factories import CustomerFactory
from webhooks_app.models import Webhook, WebhookDelivery
from webhooks_app.services.publishing import WEBHOOK_QUEUE

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/webhooks_app/webhookdelivery/"


@pytest.fixture(autouse=True)
def empty_webhook_queue():
    get_redis().delete(WEBHOOK_QUEUE)
    yield
    get_redis().delete(WEBHOOK_QUEUE)


def _webhook(**changes) -> Webhook:
    return Webhook.objects.create(
        customer=CustomerFactory(), name="orders", url="https://hooks.example.com/in", triggers=["Delivered"], **changes
    )


def _delivery(webhook: Webhook, status: str) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        webhook=webhook, event_type="Delivered", payload={"x": 1}, status=status, attempts=9
    )


def _queued() -> list[str]:
    return [
        json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0]
        for raw in get_redis().lrange(WEBHOOK_QUEUE, 0, -1)
    ]


def _redeliver(operator_client, capture, *deliveries: WebhookDelivery):
    with capture(execute=True):
        return operator_client.post(
            CHANGELIST,
            {"action": "redeliver_webhook_deliveries", "_selected_action": [str(d.id) for d in deliveries]},
            follow=True,
        )


def test_a_failed_delivery_goes_out_again_with_the_same_event_id(
    operator_client, django_capture_on_commit_callbacks
):
    failed = _delivery(_webhook(), WebhookDelivery.FAILED)

    response = _redeliver(operator_client, django_capture_on_commit_callbacks, failed)

    assert "1 delivery(ies) queued again." in [str(m) for m in get_messages(response.wsgi_request)]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (WebhookDelivery.PENDING, 0)
    assert _queued() == [str(failed.id)]


def test_pending_deliveries_and_inactive_webhooks_are_reported_not_forced(
    operator_client, django_capture_on_commit_callbacks
):
    pending = _delivery(_webhook(), WebhookDelivery.PENDING)
    inactive = _delivery(_webhook(is_active=False), WebhookDelivery.FAILED)

    response = _redeliver(operator_client, django_capture_on_commit_callbacks, pending, inactive)

    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"{pending.id}: The delivery is still pending; it is retried automatically." in notes
    assert f"{inactive.id}: The webhook is inactive; activate it first." in notes
    inactive.refresh_from_db()
    assert (inactive.status, inactive.attempts) == (WebhookDelivery.FAILED, 9)
    assert _queued() == []
