"""The webhook outbox sweeper: publish every due pending delivery nobody has queued.

Retries are scheduled in the row (``next_attempt_at``), never as countdown/ETA tasks, so this
is how a retry comes round. It also recovers what the fast path lost: a publish that failed
because the broker was down, a task lost with its worker, a claim whose worker died (its lease
shows as a due ``next_attempt_at``).
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from webhooks_app.models import WebhookDelivery
from webhooks_app.services.publishing import enqueue_deliveries, republish_guard

SWEEP_BATCH = 2000


def webhook_sweep(*, batch: int = SWEEP_BATCH) -> list[uuid.UUID]:
    """Mark due deliveries as queued and publish them after commit; returns their ids."""
    now = timezone.now()
    with transaction.atomic():
        due: list[uuid.UUID] = list(
            WebhookDelivery.objects.filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=now)
            .exclude(queued_until__gte=now)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch]
        )
        if due:
            WebhookDelivery.objects.filter(id__in=due).update(queued_until=republish_guard(now))
            transaction.on_commit(lambda: enqueue_deliveries(due))
    return due
