"""Apply stored delivery reports (``ReportInbox``) in batches, set-based.

One batch is one transaction: claim up to ``REPORT_DRAIN_BATCH`` rows (``FOR UPDATE SKIP
LOCKED``: should two drains run, they share the work and never apply a row twice), load their messages in
one query, decide every move with the state machine (``channels_app.status.report_applies``, in
arrival order per message, so ``Sent`` then ``Delivered`` in one batch both apply and a duplicate
applies once), write all moves in one ``UPDATE`` guarded by the status each message was loaded
with and all history events in one ``INSERT``, then announce each move as a single report would
(``transitions.status_changed``: failover and customer webhooks, inside the transaction), and delete
the applied rows.

Whatever the set-based pass cannot do goes through ``report_apply``, one report at a time, in
the same transaction: a message whose status changed since it was loaded (another drain, the
dispatch worker) and, if the set-based pass raises, the whole batch, each report in a savepoint
of its own. A report that raises even alone stays in the inbox with ``attempts`` counted up and
its error; after ``REPORT_INBOX_MAX_ATTEMPTS`` it is parked (``parked_at``), skipped by later
drains and logged as an error, for an operator to look at rather than retried for ever.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import LockError, RedisError

from accounts_app.models import TrafficAccount
from channels_app import queries
from channels_app.models import Message, MessageEvent, ReportInbox
from channels_app.providers.base import StatusEvent
from channels_app.providers.mitto_sms.adapter import canonical_message_id
from channels_app.services import transitions
from channels_app.services.report_inbox import (
    report_drain_request,
    report_drain_request_clear,
    report_drain_requested,
)
from channels_app.services.reports import observe_reports, report_apply, report_changes
from channels_app.services.transitions import transition_changes
from channels_app.status import report_applies
from gateway.db import insert_together
from gateway.redis import get_redis

logger = logging.getLogger(__name__)

DRAIN_LOCK_KEY = "gw:lock:drain_reports"
# A drain that was killed holds the lock at most this long; one that runs longer loses it and a
# second may start, which SKIP LOCKED keeps correct.
_LOCK_SECONDS = 60
# One task drains at most this long, then hands over to a fresh task, so a steady stream of
# reports does not keep one housekeeping thread for ever.
_RUN_SECONDS = 30.0

_ERROR_MAX = 2000  # ReportInbox.last_error kept for an operator

@dataclass
class DrainSummary:
    batches: int = 0
    applied: int = 0  # reports that moved their message
    ignored: int = 0  # duplicates, late reports, reports on messages no longer stored
    applied_alone: int = 0  # reports that went through ``report_apply`` one by one
    batches_one_by_one: int = 0  # batches whose set-based pass raised
    failed: int = 0  # left in the inbox after raising
    parked: int = 0  # of those, given up on


@dataclass
class _Move:
    """One report that moves its message: the history event, and the message as it is right
    after this move (what the listeners are told)."""

    event: MessageEvent
    status: str
    occurred_at: datetime
    message: Message


def reports_drain(*, batch_size: int | None = None) -> DrainSummary:
    """Apply stored reports batch after batch until fewer than a full batch are left."""
    size = batch_size or settings.REPORT_DRAIN_BATCH
    summary = DrainSummary()
    report_drain_request_clear()
    while True:
        claimed = _drain_batch(size, summary)
        if claimed < size:
            return summary


def reports_drain_one_at_a_time() -> DrainSummary:
    """What the Celery task runs: ``reports_drain`` under a Redis lock, so one drain takes a
    housekeeping thread however many reports published one (the others return at once), and again
    as long as reports asked for a drain while it ran (so none waits for the sweep)."""
    total = DrainSummary()
    started = time.monotonic()
    while True:
        lock = get_redis().lock(DRAIN_LOCK_KEY, timeout=_LOCK_SECONDS, blocking=False)
        try:
            acquired = lock.acquire()
        except RedisError:
            logger.warning("report drain lock unavailable; draining without it", exc_info=True)
            return _add(total, reports_drain())
        if not acquired:
            return total  # the running drain sees the request this task came for
        try:
            _add(total, reports_drain())
        finally:
            try:
                lock.release()
            except (LockError, RedisError):
                logger.warning("report drain lock expired before release", exc_info=True)
        if not report_drain_requested():
            return total
        if time.monotonic() - started > _RUN_SECONDS:
            report_drain_request_clear()
            report_drain_request()  # a fresh task carries on
            return total


def _add(total: DrainSummary, summary: DrainSummary) -> DrainSummary:
    for name in vars(total):
        setattr(total, name, getattr(total, name) + getattr(summary, name))
    return total


def _drain_batch(size: int, summary: DrainSummary) -> int:
    with transaction.atomic():
        rows = list(
            ReportInbox.objects.filter(parked_at__isnull=True).order_by("id").select_for_update(skip_locked=True)[:size]
        )
        if not rows:
            return 0
        summary.batches += 1
        try:
            with transaction.atomic():
                applied, ignored, alone = _apply_set_based(rows)
            failures: dict[int, str] = {}
        except Exception:
            logger.exception("batch of %d reports could not be applied together; applying them one by one", len(rows))
            applied, ignored, failures = _apply_each(rows)
            alone = len(rows)
            summary.batches_one_by_one += 1
        summary.applied_alone += alone
        summary.applied += applied
        summary.ignored += ignored
        done = [row.id for row in rows if row.id not in failures]
        if done:
            ReportInbox.objects.filter(id__in=done).delete()
        _record_failures([row for row in rows if row.id in failures], failures, summary)
    return len(rows)


def _event_of(row: ReportInbox, message: Message) -> StatusEvent:
    """The report as the callback parsed it, its provider id in the stored spelling when it is
    the stored id written another way (Mitto writes ids with and without dashes)."""
    event = StatusEvent(
        status=row.status,
        provider_message_id=row.provider_message_id,
        message_id=row.message_id,
        occurred_at=row.occurred_at,
        error_code=row.error_code,
        error_text=row.error_text,
        raw=row.raw,
        billing=row.billing or {},
    )
    stored = message.provider_message_id
    if stored and event.provider_message_id and canonical_message_id(event.provider_message_id) == canonical_message_id(
        stored
    ):
        event = replace(event, provider_message_id=stored)
    return event


def _apply_set_based(rows: list[ReportInbox]) -> tuple[int, int, int]:
    """Apply ``rows`` with a fixed number of statements; returns how many were applied, ignored
    and handed to ``report_apply`` because their message changed under the batch."""
    by_message: dict[uuid.UUID, list[ReportInbox]] = defaultdict(list)
    for row in rows:
        by_message[row.message_id].append(row)
    messages = {m.id: m for m in Message.objects.filter(id__in=list(by_message), direction=Message.OUTBOUND)}
    loaded_status: dict[uuid.UUID, str] = {}
    moves: dict[uuid.UUID, list[_Move]] = {}
    for message_id, reports in by_message.items():
        message = messages.get(message_id)
        if message is None:
            continue  # purged since the report was stored: nothing to apply it to
        loaded_status[message_id] = message.status
        for row in reports:
            event = _event_of(row, message)
            if report_applies(message.status, event.status):
                moves.setdefault(message_id, []).append(_move(message, event))
    moved = _write_moves([messages[i] for i in moves], loaded_status)
    # A message that changed since it was loaded: its reports go through the per-report path.
    overtaken = [row for i in moves if i not in moved for row in by_message[i]]
    applied_one_by_one = sum(_apply_one(row) for row in overtaken)
    moved_in_order = [move for message_id in moves if message_id in moved for move in moves[message_id]]
    insert_together([move.event for move in moved_in_order])
    for move in moved_in_order:
        transitions.status_changed(message=move.message, status=move.status, occurred_at=move.occurred_at)
    observe_reports([(move.message, move.status) for move in moved_in_order])
    applied = len(moved_in_order) + applied_one_by_one
    return applied, len(rows) - applied, len(overtaken)


def _move(message: Message, event: StatusEvent) -> _Move:
    """Apply one report to the loaded ``message`` in memory, as ``report_apply`` would in the
    database, and keep a copy of the message as it is after this move for its listeners."""
    occurred_at = event.occurred_at or timezone.now()
    detail, extra = report_changes(message, event)
    fields, event_detail = transition_changes(
        message=message, status=event.status, occurred_at=occurred_at, error_code=event.error_code,
        error_text=event.error_text, detail=detail, extra_fields=extra,
    )
    for name, value in fields.items():
        setattr(message, name, value)
    history = MessageEvent(
        message_id=message.id, status=event.status, occurred_at=occurred_at, source="provider", detail=event_detail
    )
    return _Move(event=history, status=event.status, occurred_at=occurred_at, message=copy.copy(message))


def _write_moves(messages: list[Message], loaded_status: dict[uuid.UUID, str]) -> set[uuid.UUID]:
    """One UPDATE for every moved message, each guarded by the status it was loaded with;
    returns the ids it moved."""
    if not messages:
        return set()
    params: list[Any] = [
        [m.id for m in messages],
        [loaded_status[m.id] for m in messages],
        [m.status for m in messages],
        [m.updated_at for m in messages],
        [m.sent_at for m in messages],
        [m.delivered_at for m in messages],
        [m.read_at for m in messages],
        [m.failed_at for m in messages],
        [m.error_code for m in messages],
        [m.error_text for m in messages],
        [None if m.billing is None else json.dumps(m.billing) for m in messages],
    ]
    return queries.messages_move_guarded(params)


def _apply_one(row: ReportInbox) -> int:
    """One report through ``report_apply`` (fresh load, its own conditional move); 1 if it moved."""
    message = (
        Message.objects.select_related("traffic_account")
        .filter(id=row.message_id, traffic_account_id=row.traffic_account_id, direction=Message.OUTBOUND)
        .first()
    )
    if message is None:
        return 0
    account: TrafficAccount = message.traffic_account
    return int(report_apply(account=account, event=_event_of(row, message), reported=message))


def _apply_each(rows: list[ReportInbox]) -> tuple[int, int, dict[int, str]]:
    """Every report in a savepoint of its own, so one that raises leaves the others applied."""
    applied = ignored = 0
    failures: dict[int, str] = {}
    for row in rows:
        try:
            with transaction.atomic():
                moved = _apply_one(row)
        except Exception as error:
            logger.exception("report %s on message %s could not be applied", row.id, row.message_id)
            failures[row.id] = f"{type(error).__name__}: {error}"[:_ERROR_MAX]
            continue
        applied += moved
        ignored += 1 - moved
    return applied, ignored, failures


def _record_failures(rows: list[ReportInbox], failures: dict[int, str], summary: DrainSummary) -> None:
    """Count the attempt on each report that raised; park it once it has used up its attempts."""
    now = timezone.now()
    for row in rows:
        row.attempts += 1
        row.last_error = failures[row.id]
        if row.attempts >= settings.REPORT_INBOX_MAX_ATTEMPTS:
            row.parked_at = now
            summary.parked += 1
            logger.error(
                "report %s (%s on message %s) parked after %d failed attempts: %s",
                row.id, row.status, row.message_id, row.attempts, row.last_error,
            )
        row.save(update_fields=["attempts", "last_error", "parked_at"])
        summary.failed += 1
