"""Retention of webhook delivery logs: finished deliveries and their attempts are kept for
WEBHOOK_ATTEMPT_RETENTION_DAYS, then removed in small batches (short transactions, re-runnable).
Pending deliveries are never removed, whatever their age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webhooks_app.models import WebhookAttempt, WebhookDelivery

RETENTION_BATCH = 2000


@dataclass
class RetentionSummary:
    deliveries: int = 0
    attempts: int = 0


def webhook_logs_expire(*, batch: int = RETENTION_BATCH) -> RetentionSummary:
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_ATTEMPT_RETENTION_DAYS)
    summary = RetentionSummary()
    while True:
        with transaction.atomic():
            ids = list(
                WebhookDelivery.objects.exclude(status=WebhookDelivery.PENDING)
                .filter(created_at__lt=cutoff)
                .order_by()
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                return summary
            _, per_model = WebhookDelivery.objects.filter(id__in=ids).delete()
        summary.deliveries += per_model.get(WebhookDelivery._meta.label, 0)
        summary.attempts += per_model.get(WebhookAttempt._meta.label, 0)
        if len(ids) < batch:
            return summary
