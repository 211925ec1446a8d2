"""Celery tasks of the sending pipeline: thin wrappers that call services with ids."""

from __future__ import annotations

import logging
import uuid

from celery import Task, shared_task

from channels_app.services.attempt_retention import attempt_bodies_expire
from channels_app.services.deactivation import inactive_pending_cancel
from channels_app.services.dispatch import messages_dispatch
from channels_app.services.dispatch_queue import DISPATCH_LANES, DISPATCH_QUEUE
from channels_app.services.failover import failover_sweep
from channels_app.services.idempotency import idempotency_records_expire
from channels_app.services.purge import messages_purge_untriggered
from channels_app.services.report_drain import reports_drain_one_at_a_time
from channels_app.services.sweeper import dispatch_sweep
from gateway import metrics
from gateway.locks import single_flight

logger = logging.getLogger(__name__)


@shared_task(name="channels.dispatch_messages", acks_late=True, ignore_result=True, bind=True)
def dispatch_messages(
    self: Task,
    message_ids: list[str],
    traffic_account_id: str | None = None,
    traffic_account_ids: list[str] | None = None,
) -> None:
    # The lane is the queue the task came from; a task run eagerly (no broker) counts as bulk.
    # The account of the messages: one for all (a bulk), or one per message (single sends
    # published together), or none in a task queued before tasks named it (still accepted).
    routing_key = (self.request.delivery_info or {}).get("routing_key")
    lane = routing_key if routing_key in DISPATCH_LANES else DISPATCH_QUEUE
    ids = [uuid.UUID(i) for i in message_ids]
    if traffic_account_id:
        accounts: list[uuid.UUID] | None = [uuid.UUID(traffic_account_id)] * len(ids)
    elif traffic_account_ids and len(traffic_account_ids) == len(ids):
        accounts = [uuid.UUID(a) for a in traffic_account_ids]
    else:
        accounts = None
    summary = messages_dispatch(ids, lane=lane, accounts=accounts)
    logger.debug("dispatched chunk: %s", summary)


@shared_task(name="channels.sweep_dispatch", ignore_result=True)
@single_flight("sweep_dispatch", ttl_seconds=60)
def sweep_dispatch() -> None:
    summary = dispatch_sweep()
    metrics.sweeper_ran("dispatch")
    if summary.recovered or summary.published or summary.released:
        logger.info(
            "dispatch sweep: released %d claims of dead workers, recovered %d stale claims, republished %d",
            summary.released,
            summary.recovered,
            summary.published,
        )


@shared_task(name="channels.sweep_failover", ignore_result=True)
@single_flight("sweep_failover", ttl_seconds=120)
def sweep_failover() -> None:
    summary = failover_sweep()
    metrics.sweeper_ran("failover")
    if summary.claimed:
        logger.info("failover sweep: %d deadlines due, %d next hops triggered", summary.claimed, summary.triggered)


@shared_task(name="channels.drain_reports", ignore_result=True)
def drain_reports() -> None:
    """Apply stored delivery reports: published by the callback view (one task for many reports)
    and run by beat every REPORT_DRAIN_SWEEP_SECONDS in case a publish was lost. One runs at a
    time (a Redis lock); the others return at once."""
    summary = reports_drain_one_at_a_time()
    if summary.failed:
        logger.warning("report drain: %d reports failed to apply, %d of them parked", summary.failed, summary.parked)


@shared_task(name="channels.purge_untriggered", ignore_result=True)
@single_flight("purge_untriggered", ttl_seconds=3600)
def purge_untriggered() -> None:
    summary = messages_purge_untriggered()
    metrics.sweeper_ran("purge_untriggered")
    if summary.messages or summary.events:
        logger.info("purge: deleted %d never-Created messages and %d events", summary.messages, summary.events)


@shared_task(name="channels.expire_idempotency_records", ignore_result=True)
@single_flight("expire_idempotency_records", ttl_seconds=600)
def expire_idempotency_records() -> None:
    removed = idempotency_records_expire()
    metrics.sweeper_ran("expire_idempotency_records")
    if removed:
        logger.info("idempotency: removed %d expired records", removed)


@shared_task(name="channels.cancel_pending_of_inactive", ignore_result=True)
def cancel_pending_of_inactive(customer_id: str | None = None, traffic_account_id: str | None = None) -> None:
    """The second cancellation pass after a deactivation (see services/deactivation.py)."""
    cancelled = inactive_pending_cancel(
        customer_id=uuid.UUID(customer_id) if customer_id else None,
        traffic_account_id=uuid.UUID(traffic_account_id) if traffic_account_id else None,
    )
    if cancelled:
        logger.info("deactivation second pass cancelled %d messages", cancelled)


@shared_task(name="channels.expire_attempt_bodies", ignore_result=True)
@single_flight("expire_attempt_bodies", ttl_seconds=3600)
def expire_attempt_bodies() -> None:
    emptied = attempt_bodies_expire()
    metrics.sweeper_ran("expire_attempt_bodies")
    if emptied:
        logger.info("retention: emptied the bodies of %d dispatch attempts", emptied)
