"""Publishing delivery tasks to the broker.

A lost publish is not a lost event: the WebhookDelivery row is the outbox, and the sweeper
publishes every due pending delivery whose ``queued_until`` guard has lapsed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

WEBHOOK_QUEUE = "webhooks"


def republish_guard(now: datetime | None = None) -> datetime:
    """Until when a just-published delivery is left alone by the sweeper."""
    return (now or timezone.now()) + timedelta(seconds=settings.WEBHOOK_REPUBLISH_AFTER_SECONDS)


def enqueue_deliveries(delivery_ids: Iterable[uuid.UUID]) -> None:
    from gateway.celery import app
    from webhooks_app.tasks import deliver_webhook

    ids = [str(i) for i in delivery_ids]
    if not ids:
        return
    try:
        with app.producer_or_acquire() as producer:
            for delivery_id in ids:
                deliver_webhook.apply_async(args=(delivery_id,), queue=WEBHOOK_QUEUE, producer=producer, retry=False)
    except Exception:
        # The broker is down. The deliveries are committed; the sweeper publishes them once the
        # guard lapses. Raising here would fail a status change that has already happened.
        logger.exception("webhook publish failed for %d deliveries; the sweeper will retry", len(ids))
