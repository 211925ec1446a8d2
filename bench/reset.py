"""Bring the pipeline back to empty between runs, so one run's backlog is not the next one's load.

Truncating under traffic deadlocks: TRUNCATE takes its table locks one after the other while
dispatch and callback transactions hold some of those tables and want others. So the pipeline
is quiesced first: queued tasks purged, the fake provider's pending reports dropped, and every message
that could still be sent or failed over is moved out of reach (Cancelled, no deadline), so the
tasks a worker already prefetched claim nothing and finish at once (in id-ordered batches that
skip rows a worker holds, see ``messages_park``). Then the tables are
truncated in the order the gateway's transactions lock them, and the TRUNCATE is retried if
PostgreSQL still picks it as a deadlock victim.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Any

from bench.fake_client import FakeProviderClient
from bench.stack import CELERY_QUEUES

logger = logging.getLogger("bench.reset")

# How long TRUNCATE may wait for open transactions before an attempt gives up.
LOCK_TIMEOUT = "20s"
QUIET_WAIT_SECONDS = 30.0


def purge_queues() -> int:
    from gateway.celery import app

    purged = 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in CELERY_QUEUES:
            # A queue that was never declared is already empty.
            with contextlib.suppress(Exception):
                # The broker's channel has queue_purge; the stubs type it as kombu's bare StdChannel.
                purged += int(channel.queue_purge(queue) or 0)  # type: ignore[attr-defined]
    return purged


PARK_BATCH = 2000
PARK_PASSES = 10

# One batch: the next rows in id order that could still be sent or failed over, locked in that
# order and skipping any a worker or sweeper holds right now, then moved out of reach.
_PARK_SQL = """
WITH batch AS (
    SELECT id FROM {table}
    WHERE id > %(after)s AND (status = ANY(%(parked)s) OR failover_deadline IS NOT NULL)
    ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE {table} AS m SET
    status = CASE WHEN m.status = ANY(%(parked)s) THEN %(cancelled)s ELSE m.status END,
    available_at = CASE WHEN m.status = ANY(%(parked)s) THEN NULL ELSE m.available_at END,
    failover_deadline = NULL
FROM batch WHERE m.id = batch.id
RETURNING m.id
"""
_PARKABLE_SQL = "SELECT count(*) FROM {table} WHERE status = ANY(%(parked)s) OR failover_deadline IS NOT NULL"


def messages_park() -> int:
    """Nothing left to dispatch or fail over: prefetched tasks and the sweepers find no work.

    One UPDATE over the previous run's 200,000 messages locked them in whatever order the scan
    met them while dispatch workers locked some of the same rows in theirs, and PostgreSQL
    killed one side as a deadlock (the failover case lost its second and third runs to it).
    So the park goes in id-ordered batches of its own transaction each, and skips rows another
    transaction holds: it never waits for a lock, so it can never be part of a deadlock. Rows it
    skipped (a worker was sending them) are looked at again in the next pass.
    """
    from django.db import connection, transaction

    from channels_app.models import Message
    from channels_app.status import Status

    table = connection.ops.quote_name(Message._meta.db_table)
    params: dict[str, Any] = {"parked": [Status.READY, Status.SCHEDULED], "cancelled": Status.CANCELLED,
                                 "limit": PARK_BATCH}
    parked = 0
    for _ in range(PARK_PASSES):
        after = uuid.UUID(int=0)
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_PARK_SQL.replace("{table}", table), {**params, "after": after})
                ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                break
            parked += len(ids)
            after = max(ids)
        with connection.cursor() as cursor:
            cursor.execute(_PARKABLE_SQL.replace("{table}", table), params)
            (left,) = cursor.fetchone()
        if not left:
            break
        time.sleep(0.2)
    return parked


def wait_until_quiet(timeout: float = QUIET_WAIT_SECONDS) -> bool:
    """Until no message is with a worker (Sending), bounded."""
    from channels_app.models import Message
    from channels_app.status import Status

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Message.objects.filter(status=Status.SENDING).exists():
            return True
        time.sleep(0.2)
    return False


def truncate_messages(*, attempts: int = 10) -> None:
    from django.db import OperationalError, connection

    from channels_app.models import Conversation, DispatchAttempt, Message, MessageEvent, Participant

    # The order transactions take them in: a bulk writes conversations, participants, messages,
    # events; dispatch writes attempts, then messages, then events. CASCADE also empties what
    # points at messages (webhook deliveries).
    tables = [m._meta.db_table for m in (Conversation, Participant, DispatchAttempt, Message, MessageEvent)]
    statement = "TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables) + " CASCADE"
    for attempt in range(1, attempts + 1):
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                try:
                    cursor.execute(statement)
                finally:
                    cursor.execute("RESET lock_timeout")
            return
        except OperationalError as exc:
            if attempt == attempts:
                raise
            logger.info("truncate attempt %d failed (%s); retrying", attempt, str(exc).splitlines()[0])
            time.sleep(0.5 * attempt)


# Reports the fake provider was posting while the tables were truncated fail (404) and are scheduled
# again a second later at the earliest: long enough for them to be dropped by the last reset.
SETTLE_SECONDS = 0.8


def pipeline_reset(provider: FakeProviderClient) -> None:
    purged = purge_queues()
    provider.reset()
    parked = messages_park()
    quiet = wait_until_quiet()
    truncate_messages()
    time.sleep(SETTLE_SECONDS)
    provider.reset()
    purged += purge_queues()
    logger.info("pipeline reset (%d queued tasks purged, %d messages parked, quiet: %s)", purged, parked, quiet)
