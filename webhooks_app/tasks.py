"""Celery tasks of webhook delivery: thin wrappers that call services with ids."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task

from gateway import metrics
from gateway.locks import single_flight
from webhooks_app.services.delivery import webhook_deliver
from webhooks_app.services.retention import webhook_logs_expire
from webhooks_app.services.sweeper import webhook_sweep

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.deliver", acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: str) -> None:
    result = webhook_deliver(delivery_id=uuid.UUID(delivery_id))
    if result.claimed and result.attempt is not None:
        outcome = result.attempt.status_code or result.attempt.error
        logger.info("webhook delivery %s: %s (%s)", delivery_id, result.status, outcome)


@shared_task(name="webhooks.sweep", ignore_result=True)
@single_flight("sweep_webhooks", ttl_seconds=60)
def sweep_webhooks() -> None:
    published = webhook_sweep()
    metrics.sweeper_ran("webhooks")
    if published:
        logger.info("webhook sweep: published %d due deliveries", len(published))


@shared_task(name="webhooks.expire_attempts", ignore_result=True)
@single_flight("expire_webhook_attempts", ttl_seconds=3600)
def expire_webhook_attempts() -> None:
    summary = webhook_logs_expire()
    metrics.sweeper_ran("webhook_retention")
    if summary.deliveries or summary.attempts:
        logger.info("webhook retention: removed %d deliveries and %d attempts", summary.deliveries, summary.attempts)
