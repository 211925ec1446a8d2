"""The outbox sweeper: recover what the fast path lost.

Runs every second or so from beat. It republishes Ready messages that are due and not already
queued (broker was down at accept time, retry backoff elapsed, throughput slot reached), and
returns to Ready the messages whose worker died mid-send (the claim lease expired).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.models import Message
from channels_app.services.dispatch_queue import enqueue_dispatch
from channels_app.status import Status

SWEEP_BATCH = 5000


@dataclass
class DispatchSweepSummary:
    recovered: int = 0
    published: int = 0


def dispatch_sweep() -> DispatchSweepSummary:
    summary = DispatchSweepSummary()
    now = timezone.now()
    lease = timedelta(seconds=settings.DISPATCH_CLAIM_LEASE_SECONDS)
    expired = Message.objects.filter(claimed_at__lt=now - lease)
    summary.recovered = expired.filter(status=Status.SENDING).update(
        status=Status.READY, claimed_at=None, queued_until=None, available_at=now, updated_at=now
    )
    # A report that overtook the send moved the message on while it was claimed; if the worker
    # died before recording the send, the claim was never released. Release it so the lease
    # index (claimed_at IS NOT NULL) only ever holds in-flight messages.
    expired.update(claimed_at=None)
    with transaction.atomic():
        due = list(
            Message.objects.filter(status=Status.READY, available_at__lte=now)
            .exclude(queued_until__gte=now)
            .order_by("available_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:SWEEP_BATCH]
        )
        if due:
            Message.objects.filter(id__in=due).update(
                queued_until=now + timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS)
            )
            ids: list[uuid.UUID] = due
            transaction.on_commit(lambda: enqueue_dispatch(ids))
    summary.published = len(due)
    return summary
