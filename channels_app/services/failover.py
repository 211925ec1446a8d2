"""Timeout failover: send through the next traffic account when a hop misses its wanted status.

Deadlines live in PostgreSQL (``Message.failover_deadline``), never in broker countdowns: a
sweeper claims due hops with ``FOR UPDATE SKIP LOCKED``, so each deadline fires exactly once
across any number of workers, and survives worker, beat and Redis restarts. A report that lands
before the sweeper claims the hop clears the deadline in the same transaction as the status
change, so it wins and no failover happens. A hop that fails outright triggers the next at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import receiver
from django.utils import timezone

from channels_app.models import Message, MessageEvent
from channels_app.services.dispatch_queue import enqueue_dispatch
from channels_app.services.transitions import message_transition
from channels_app.signals import message_status_changed
from channels_app.status import Status, satisfies

TABLE = Message._meta.db_table
SWEEP_BATCH = 500

# The table name is ours; every value is a parameter.
_CLAIM_DUE_SQL = (
    f"WITH due AS (SELECT id FROM {TABLE}"  # noqa: S608
    " WHERE failover_deadline IS NOT NULL AND failover_deadline <= %s"
    " ORDER BY failover_deadline LIMIT %s FOR UPDATE SKIP LOCKED)"
    f" UPDATE {TABLE} m SET failover_deadline = NULL FROM due WHERE m.id = due.id"
    " RETURNING m.failover_chain_id, m.failover_position, m.status, m.failover_wanted_status"
)

_TRIGGER_SQL = (
    f"UPDATE {TABLE} m SET status = %s, triggered_at = %s, available_at = %s, queued_until = %s,"  # noqa: S608
    " updated_at = %s,"
    " failover_deadline = CASE WHEN EXISTS (SELECT 1 FROM {table} n WHERE n.failover_chain_id = m.failover_chain_id"
    "   AND n.failover_position = m.failover_position + 1)"
    "   THEN %s + make_interval(secs => m.failover_timeout_seconds) ELSE NULL END"
    " FROM (SELECT unnest(%s::uuid[]) AS chain_id, unnest(%s::int[]) AS position) AS next"
    " WHERE m.failover_chain_id = next.chain_id AND m.failover_position = next.position AND m.status = %s"
    " RETURNING m.id"
).replace("{table}", TABLE)


def failover_trigger(*, hops: list[tuple[uuid.UUID, int]], now: datetime | None = None) -> list[uuid.UUID]:
    """Make the given (chain, position) hops Created (Ready) if they are still Scheduled, give
    them their own deadline when another hop follows, and enqueue them after commit.

    The ``status = Scheduled`` condition makes triggering idempotent: a hop fires at most once.
    """
    if not hops:
        return []
    now = now or timezone.now()
    republish = now + timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _TRIGGER_SQL,
            [
                Status.READY,
                now,
                now,
                republish,
                now,
                now,
                [str(c) for c, _ in hops],
                [p for _, p in hops],
                Status.SCHEDULED,
            ],
        )
        triggered = [row[0] for row in cursor.fetchall()]
        MessageEvent.objects.bulk_create(
            [
                MessageEvent(
                    message_id=i, status=Status.READY, occurred_at=now, source="failover", detail={"reason": "failover"}
                )
                for i in triggered
            ]
        )
        if triggered:
            transaction.on_commit(lambda: enqueue_dispatch(triggered))
    return triggered


def _cancel_remaining(message: Message, now: datetime) -> None:
    for hop in Message.objects.filter(failover_chain_id=message.failover_chain_id, status=Status.SCHEDULED):
        message_transition(
            message=hop,
            status=Status.CANCELLED,
            source="failover",
            occurred_at=now,
            from_statuses=[Status.SCHEDULED],
            detail={"reason": f"hop {message.failover_position} reached {message.failover_wanted_status}"},
        )


@receiver(message_status_changed, dispatch_uid="failover_on_status_change")
def failover_on_status_change(sender: Any, message: Message, status: str, occurred_at: datetime, **_: Any) -> None:
    """Runs inside the transaction of every status change of a message."""
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
            failover_trigger(hops=[(message.failover_chain_id, message.failover_position + 1)], now=now)


@dataclass
class FailoverSweepSummary:
    claimed: int = 0
    triggered: int = 0


def failover_sweep(*, batch: int = SWEEP_BATCH) -> FailoverSweepSummary:
    """Fire every due deadline once; loop in batches so a backlog drains within one run."""
    summary = FailoverSweepSummary()
    while True:
        now = timezone.now()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_CLAIM_DUE_SQL, [now, batch])
                due = cursor.fetchall()
            next_hops = [
                (chain_id, position + 1)
                for chain_id, position, status, wanted in due
                if not satisfies(status, wanted or Status.DELIVERED)
            ]
            summary.triggered += len(failover_trigger(hops=next_hops, now=now))
        summary.claimed += len(due)
        if len(due) < batch:
            return summary
