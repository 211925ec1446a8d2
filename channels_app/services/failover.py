"""Timeout failover: send through the next traffic account when a hop misses its wanted status.

Deadlines live in PostgreSQL (``Message.failover_deadline``), never in broker countdowns: a
sweeper claims due hops with ``FOR UPDATE SKIP LOCKED``, so each deadline fires exactly once
across any number of workers, and survives worker, beat and Redis restarts. A report that lands
before the sweeper claims the hop clears the deadline in the same transaction as the status
change, so it wins and no failover happens. A hop that fails outright triggers the next at once.

``services.transitions`` calls ``failover_after_status_change`` on every status change it makes,
and this module cancels the hops a satisfied chain no longer needs through ``message_transition``:
the two modules import each other as modules (attribute access at call time), so either may be
imported first.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from channels_app import queries
from channels_app.models import Message
from channels_app.services import transitions
from channels_app.services.dispatch_queue import enqueue_dispatch_by_lane
from channels_app.status import RANK, Status, satisfies
from gateway import metrics

SWEEP_BATCH = 1000

# The next hops to trigger come from ``next`` (rows of chain_id, position), built by each caller.
@functools.cache
def _satisfying_pairs() -> tuple[list[str], list[str]]:
    """Every (wanted, reached) pair for which ``satisfies(reached, wanted)``, as two columns."""
    pairs = [(wanted, reached) for wanted in RANK for reached in RANK if satisfies(reached, wanted)]
    return [w for w, _ in pairs], [r for _, r in pairs]


def _trigger_params(now: datetime) -> dict[str, Any]:
    return {
        "ready": Status.READY,
        "scheduled": Status.SCHEDULED,
        "now": now,
        "republish": now + timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS),
        "detail": Jsonb({"reason": "failover"}),
    }


def failover_trigger(*, hops: list[tuple[uuid.UUID, int]], now: datetime | None = None) -> list[uuid.UUID]:
    """Make the given (chain, position) hops Created (Ready) if they are still Scheduled, give
    them their own deadline when another hop follows, and enqueue them after commit.

    The ``status = Scheduled`` condition makes triggering idempotent: a hop fires at most once.
    """
    if not hops:
        return []
    params = _trigger_params(now or timezone.now())
    params.update(chains=[str(c) for c, _ in hops], positions=[p for _, p in hops])
    with transaction.atomic():
        triggered = queries.failover_hops_trigger(params)
        _enqueue_after_commit(triggered)
    return triggered


def _enqueue_after_commit(message_ids: list[uuid.UUID]) -> None:
    """The next hop of a single send takes the priority lane, as its first hop did."""
    if message_ids:
        transaction.on_commit(lambda: enqueue_dispatch_by_lane(message_ids, _single_sends(message_ids)))


def _single_sends(message_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    return set(Message.objects.filter(id__in=message_ids, bulk_id__isnull=True).values_list("id", flat=True))


def _cancel_remaining(message: Message, now: datetime) -> None:
    for hop in Message.objects.filter(failover_chain_id=message.failover_chain_id, status=Status.SCHEDULED):
        transitions.message_transition(
            message=hop,
            status=Status.CANCELLED,
            source="failover",
            occurred_at=now,
            from_statuses=[Status.SCHEDULED],
            detail={"reason": f"hop {message.failover_position} reached {message.failover_wanted_status}"},
        )


def failover_after_status_change(*, message: Message, status: str) -> None:
    """React to ``message`` having just moved to ``status``: a hop that reached its wanted status
    cancels the chain's later hops, a failed current hop hands over to the next at once.

    Called by ``services.transitions`` inside the transaction of the change, so the cancellations,
    the next hop and their outbox rows commit or roll back with it. A cancellation it makes comes
    back here and returns at once (a Cancelled hop never hands over).
    """
    if message.failover_chain_id is None or message.direction != Message.OUTBOUND or status == Status.CANCELLED:
        return
    now = timezone.now()
    if satisfies(status, message.failover_wanted_status or Status.DELIVERED):
        Message.objects.filter(id=message.id).exclude(failover_deadline=None).update(failover_deadline=None)
        _cancel_remaining(message, now)
    elif status == Status.FAILED:
        # Only the current hop (the one holding the deadline) hands over; clearing the deadline
        # under the row lock makes the sweeper skip it.
        cleared = Message.objects.filter(id=message.id).exclude(failover_deadline=None).update(failover_deadline=None)
        if cleared:
            assert message.failover_position is not None  # set together with failover_chain_id
            failover_trigger(hops=[(message.failover_chain_id, message.failover_position + 1)], now=now)


@dataclass
class FailoverSweepSummary:
    claimed: int = 0
    triggered: int = 0


def failover_sweep(*, batch: int = SWEEP_BATCH) -> FailoverSweepSummary:
    """Fire every due deadline once; loop in batches so a backlog drains within one run."""
    summary = FailoverSweepSummary()
    wanted, reached = _satisfying_pairs()
    while True:
        params = _trigger_params(timezone.now())
        params.update(batch=batch, wanted=wanted, reached=reached, delivered=Status.DELIVERED)
        with transaction.atomic():
            claimed, triggered, lags = queries.failover_deadlines_sweep(params)
            _enqueue_after_commit(triggered)
        metrics.failover_fired(lags)
        summary.claimed += claimed
        summary.triggered += len(triggered)
        if claimed < batch:
            return summary
