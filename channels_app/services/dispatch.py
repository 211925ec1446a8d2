"""Hand claimed messages to their channel adapter and record what happened.

A message is claimed with a conditional UPDATE (``Ready -> Sending``) before it is sent, so a
duplicate task finds nothing to claim and never sends twice. A worker killed mid-send leaves
the message ``Sending`` with an expired lease, and the sweeper puts it back to ``Ready``.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts_app.models import TrafficAccount
from channels_app.adapters.base import Channel, HttpExchange, OutboundMessage, SendError, SendResult
from channels_app.adapters.registry import adapter_for
from channels_app.models import DispatchAttempt, Message
from channels_app.ratelimit import reserve_slots
from channels_app.services.row_insert import insert_together
from channels_app.services.row_models import message_and_account_columns, message_with_account
from channels_app.services.test_mode import is_simulated, simulated_reports_apply, simulated_send
from channels_app.services.transitions import message_transition, messages_mark_sent
from channels_app.status import Status
from webhooks_app.callback_tokens import callback_url_with_token, issue_callback_token

logger = logging.getLogger(__name__)

# A slot this close is waited for in the worker; a later one goes back to the outbox. The
# tolerance absorbs the few milliseconds between taking the chunk's start time and reserving.
MAX_INLINE_WAIT_SECONDS = 1.0
SLOT_TOLERANCE_SECONDS = 0.05
RECORD_BATCH = 25
RECORD_INTERVAL_SECONDS = 0.05

# The table name is ours; every value is a parameter. `status || ''` is deliberate: a plain
# `status = 'Ready'` matches the partial index msg_ready_due, and with statistics that undercount
# Ready rows (right after any large bulk) the planner scans every due message for each chunk
# instead of fetching the chunk's ids by primary key. The expression cannot use an index.
_CLAIM_SQL = (
    f"WITH claimed AS (UPDATE {Message._meta.db_table}"  # noqa: S608
    " SET status = %s, claimed_at = %s, attempts = attempts + 1, updated_at = %s"
    " WHERE id = ANY(%s) AND (status || '') = %s AND (available_at IS NULL OR available_at <= %s)"
    " RETURNING *)"
    f" SELECT {message_and_account_columns('claimed', 'a')} FROM claimed"
    f" JOIN {TrafficAccount._meta.db_table} a ON a.id = claimed.traffic_account_id"
)


def messages_claim(message_ids: list[uuid.UUID]) -> list[Message]:
    """Claim the given messages that are still Ready and due; return them with their accounts,
    as the claim left them, from the claiming statement itself."""
    with connection.cursor() as cursor:
        now = timezone.now()
        cursor.execute(_CLAIM_SQL, [Status.SENDING, now, now, list(message_ids), Status.READY, now])
        return [message_with_account(row) for row in cursor.fetchall()]


def retry_delay(*, attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter, never sooner than the provider asked."""
    base = settings.DISPATCH_RETRY_BASE_SECONDS * (2 ** max(0, attempt - 1))
    delay = min(random.uniform(base / 2, base), settings.DISPATCH_RETRY_MAX_SECONDS)
    return max(delay, retry_after or 0.0)


def _callback_url(message: Message) -> str | None:
    if message.channel != Channel.SMS:
        return None
    token = issue_callback_token(subject=str(message.id), purpose="dlr")
    return callback_url_with_token(f"{settings.PUBLIC_BASE_URL}/callbacks/sms/dlr", token)


def _attempt_row(
    message: Message, started: datetime, outcome: str, exchange: HttpExchange | None, error: str
) -> DispatchAttempt:
    return DispatchAttempt(
        message_id=message.id,
        number=message.attempts,
        started_at=started,
        duration_ms=exchange.duration_ms if exchange else 0,
        outcome=outcome,
        http_status=exchange.status_code if exchange else None,
        request=(
            {
                "method": exchange.method,
                "url": exchange.url,
                "headers": exchange.request_headers,
                "body": exchange.request_body,
            }
            if exchange
            else {}
        ),
        response=exchange.response_body if exchange else None,
        error=error or (exchange.error if exchange else ""),
    )


def _defer(message: Message, slot_at: datetime) -> None:
    """Give the claim back until the reserved throughput slot comes."""
    Message.objects.filter(id=message.id, status=Status.SENDING).update(
        status=Status.READY,
        available_at=slot_at,
        rate_slot_at=slot_at,
        queued_until=None,
        claimed_at=None,
        attempts=max(0, message.attempts - 1),
        updated_at=timezone.now(),
    )


def _on_failure(message: Message, error: SendError) -> None:
    if error.retryable and message.attempts < settings.DISPATCH_MAX_ATTEMPTS:
        delay = retry_delay(attempt=message.attempts, retry_after=error.retry_after)
        Message.objects.filter(id=message.id, status=Status.SENDING).update(
            status=Status.READY,
            available_at=timezone.now() + timedelta(seconds=delay),
            queued_until=None,
            claimed_at=None,
            rate_slot_at=None,
            error_code=error.code[:64],
            error_text=error.text,
            updated_at=timezone.now(),
        )
        return
    if error.kind == "config":
        logger.error(
            "provider configuration error on traffic account %s (%s): %s %s",
            message.traffic_account_id,
            message.channel,
            error.code,
            error.text,
        )
    reason = "retries exhausted: " if error.retryable else ""
    message_transition(
        message=message,
        status=Status.FAILED,
        source="dispatch",
        from_statuses=[Status.SENDING],
        error_code=error.code,
        error_text=reason + error.text,
        detail={"kind": error.kind, "attempt": message.attempts},
        extra_fields={"claimed_at": None},
    )


@dataclass
class Outcome:
    message: Message
    started: datetime
    result: SendResult | None = None
    error: SendError | None = None
    simulated: bool = False  # test mode: no provider was called


def message_send_once(message: Message) -> Outcome:
    """Call the provider for one claimed message. Writes nothing: outcomes are recorded in
    batches by ``outcomes_record``."""
    outbound = OutboundMessage(
        id=message.id, destination=message.destination, content=message.content, callback_url=_callback_url(message)
    )
    started = timezone.now()
    if is_simulated(message):
        return Outcome(message=message, started=started, result=simulated_send(message), simulated=True)
    try:
        result = adapter_for(message.traffic_account.provider_account()).send(outbound)
    except SendError as error:
        return Outcome(message=message, started=started, error=error)
    return Outcome(message=message, started=started, result=result)


def outcomes_record(outcomes: list[Outcome]) -> None:
    """Attempts in one insert, successes in one update; failures (rare) one by one."""
    if not outcomes:
        return
    with transaction.atomic():
        insert_together(
            [
                _attempt_row(o.message, o.started, "sent", o.result.exchange, "")
                if o.result
                else _attempt_row(
                    o.message, o.started, o.error.kind, o.error.exchange, f"{o.error.code}: {o.error.text}"
                )
                for o in outcomes
            ]
        )
        messages_mark_sent(
            accepted=[(o.message, o.result.provider_message_id, o.started) for o in outcomes if o.result is not None]
        )
        simulated_reports_apply([o.message for o in outcomes if o.simulated])
        for outcome in outcomes:
            if outcome.error is not None:
                _on_failure(outcome.message, outcome.error)


@dataclass
class DispatchSummary:
    claimed: int = 0
    deferred: int = 0


def messages_dispatch(message_ids: list[uuid.UUID]) -> DispatchSummary:
    """Claim and send a chunk, honouring each traffic account's throughput limit."""
    summary = DispatchSummary()
    messages = messages_claim(message_ids)
    summary.claimed = len(messages)
    by_account: dict[uuid.UUID, list[Message]] = defaultdict(list)
    for message in messages:
        by_account[message.traffic_account_id].append(message)
    started = time.time()
    for group in by_account.values():
        limit = group[0].traffic_account.throughput_per_second
        needs_slot = [m for m in group if limit and m.rate_slot_at is None]
        slots = (
            reserve_slots(account_id=group[0].traffic_account_id, per_second=limit, count=len(needs_slot))
            if needs_slot
            else []
        )
        slot_of = dict(zip([m.id for m in needs_slot], slots, strict=True))
        # Decide up front, against the chunk's start: what falls beyond the next second goes back
        # to the outbox now, so its claim is not held while the rest are sent.
        to_send: list[tuple[Message, float | None]] = []
        for message in group:
            slot = slot_of.get(message.id)
            if slot is not None and slot - started > MAX_INLINE_WAIT_SECONDS + SLOT_TOLERANCE_SECONDS:
                _defer(message, datetime.fromtimestamp(slot, tz=UTC))
                summary.deferred += 1
            else:
                to_send.append((message, slot))
        pending: list[Outcome] = []
        flushed_at = time.monotonic()
        for message, slot in to_send:
            if slot is not None and slot > time.time():
                time.sleep(slot - time.time())
            try:
                pending.append(message_send_once(message))
            except Exception:
                # Leave it Sending: the lease expires and the sweeper retries it. One bad message
                # must not stop the rest of the chunk.
                logger.exception("dispatch of message %s crashed", message.id)
            # Record in small batches: fewer statements, yet statuses stay fresh for reports.
            if len(pending) >= RECORD_BATCH or time.monotonic() - flushed_at > RECORD_INTERVAL_SECONDS:
                outcomes_record(pending)
                pending, flushed_at = [], time.monotonic()
        outcomes_record(pending)
    return summary
