"""Webhook delivery logs past their retention are removed; pending deliveries never are."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory
from webhooks_app.models import Webhook, WebhookAttempt, WebhookDelivery
from webhooks_app.services.retention import webhook_logs_expire

pytestmark = pytest.mark.django_db


def _delivery(webhook: Webhook, status: str, age_days: int) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(webhook=webhook, event_type="Delivered", payload={}, status=status)
    WebhookAttempt.objects.create(delivery=delivery, attempted_at=timezone.now(), status_code=500)
    WebhookDelivery.objects.filter(id=delivery.id).update(created_at=timezone.now() - timedelta(days=age_days))
    return delivery


def test_old_finished_logs_go_and_everything_else_stays(settings):
    webhook = Webhook.objects.create(
        customer=CustomerFactory(), name="w", url="https://example.com/h", triggers=["Delivered"]
    )
    old_done = _delivery(webhook, WebhookDelivery.SUCCEEDED, settings.WEBHOOK_ATTEMPT_RETENTION_DAYS + 1)
    old_failed = _delivery(webhook, WebhookDelivery.FAILED, settings.WEBHOOK_ATTEMPT_RETENTION_DAYS + 1)
    old_pending = _delivery(webhook, WebhookDelivery.PENDING, settings.WEBHOOK_ATTEMPT_RETENTION_DAYS + 5)
    recent = _delivery(webhook, WebhookDelivery.SUCCEEDED, settings.WEBHOOK_ATTEMPT_RETENTION_DAYS - 1)

    summary = webhook_logs_expire(batch=1)

    assert (summary.deliveries, summary.attempts) == (2, 2)
    remaining = set(WebhookDelivery.objects.values_list("id", flat=True))
    assert remaining == {old_pending.id, recent.id}
    assert not {old_done.id, old_failed.id} & remaining
    assert webhook_logs_expire().deliveries == 0
