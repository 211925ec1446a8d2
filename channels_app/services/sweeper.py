"""The outbox sweeper: recover what the fast path lost.

Runs every second or so from beat. It queues the chunks put aside while their account had no
dispatch permit free once they are due, republishes Ready messages that are due and not already
queued (broker was down at accept time, retry backoff elapsed, throughput slot reached), and
returns to Ready the messages whose worker died mid-send: within seconds when the worker that
claimed them has no heartbeat any more (``worker_heartbeat``), at the latest when the claim
lease expires (a worker alive but stuck).

A Ready message whose republish guard has expired was either never published or is still
waiting behind a backlog in the dispatch queue. While the queue holds a backlog, republishing
the second kind only adds duplicate tasks to the backlog (the end-to-end benchmark's 50,000
messages took minutes to drain, and the sweeper re-queued each of them every 30 s, a third of
the workers' CPU), so then only messages published more than BACKLOG_PATIENCE guards ago, or
never, go out again; once the queue is empty everything due goes.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.models import Message
from channels_app.services.dispatch_queue import (
    deferred_dispatch_publish,
    dispatch_backlog,
    enqueue_dispatch_by_lane,
)
from channels_app.services.worker_heartbeat import workers_confirmed_dead
from channels_app.status import Status
from gateway import metrics

logger = logging.getLogger(__name__)

SWEEP_BATCH = 5000
# With a backlog queued, a message is republished once this many republish guards have passed.
BACKLOG_PATIENCE = 10


@dataclass
class DispatchSweepSummary:
    recovered: int = 0
    published: int = 0
    released: int = 0
    deferred_published: int = 0  # chunks put aside because their account had no permit free


def dead_worker_claims_release(now: datetime) -> int:
    """Put back to Ready, due now, the Sending messages of workers whose heartbeat is gone.

    They are published by the same sweep (no republish guard), so a second worker sends them
    seconds after the first died instead of after the claim lease.
    """
    claimers = list(
        Message.objects.filter(claimed_at__isnull=False, status=Status.SENDING)
        .exclude(claimed_by="")
        .values_list("claimed_by", flat=True)
        .distinct()
    )
    dead = workers_confirmed_dead(claimers, confirm_seconds=settings.DISPATCH_DEAD_WORKER_CONFIRM_SECONDS)
    if not dead:
        return 0
    released = Message.objects.filter(claimed_at__isnull=False, claimed_by__in=dead, status=Status.SENDING).update(
        status=Status.READY, claimed_at=None, queued_until=None, available_at=now, updated_at=now
    )
    logger.warning("released %d messages claimed by workers without a heartbeat: %s", released, ", ".join(dead))
    return released


def dispatch_sweep() -> DispatchSweepSummary:
    summary = DispatchSweepSummary()
    summary.deferred_published = deferred_dispatch_publish(time.time())
    now = timezone.now()
    summary.released = dead_worker_claims_release(now)
    lease = timedelta(seconds=settings.DISPATCH_CLAIM_LEASE_SECONDS)
    expired = Message.objects.filter(claimed_at__lt=now - lease)
    summary.recovered = expired.filter(status=Status.SENDING).update(
        status=Status.READY, claimed_at=None, queued_until=None, available_at=now, updated_at=now
    )
    # A report that overtook the send moved the message on while it was claimed; if the worker
    # died before recording the send, the claim was never released. Release it so the lease
    # index (claimed_at IS NOT NULL) only ever holds in-flight messages.
    expired.update(claimed_at=None)
    guard = timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS)
    # Unknown (broker unreachable) counts as no backlog: republishing is then the safe side.
    backlog = dispatch_backlog()
    metrics.dispatch_backlog_measured(backlog)
    published_before = now - guard * (BACKLOG_PATIENCE - 1) if backlog else now
    with transaction.atomic():
        due = list(
            Message.objects.filter(status=Status.READY, available_at__lte=now)
            .exclude(queued_until__gte=published_before)
            .order_by("available_at")
            .select_for_update(skip_locked=True)
            .values_list("id", "bulk_id", "traffic_account_id")[:SWEEP_BATCH]
        )
        if due:
            Message.objects.filter(id__in=[i for i, _, _ in due]).update(queued_until=now + guard)
            # Single sends (no bulk) go back to the priority lane, bulk messages to the bulk lane.
            ids: list[uuid.UUID] = [i for i, _, _ in due]
            singles = {i for i, bulk, _ in due if bulk is None}
            account_of = {i: account for i, _, account in due}
            transaction.on_commit(lambda: enqueue_dispatch_by_lane(ids, singles, account_of))
    summary.published = len(due)
    return summary
