"""Hand claimed messages to their channel adapter and record what happened.

A message is claimed with a conditional UPDATE (``Ready -> Sending``) before it is sent, so a
duplicate task finds nothing to claim and never sends twice. The claim records the worker
(``claimed_by``): a worker killed mid-send leaves its messages ``Sending``, and the sweeper puts
them back to ``Ready`` as soon as that worker's heartbeat is gone (``worker_heartbeat``), or at the
latest when the claim lease expires. A chunk that stops early (an exception, a lost heartbeat)
gives back at once what it claimed and did not send.

A chunk takes its account's permit before it claims: a chunk that finds none free is put aside
in Redis and queued again a moment later, without a row being written. Claiming first and giving back cost
four claims per message sent and half the worker's CPU when one account's campaign kept every
thread busy. The claim stays the guard against sending twice.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from channels_app import queries
from channels_app.callbacks.tokens import callback_url_with_token, issue_callback_token
from channels_app.models import DispatchAttempt, Message
from channels_app.providers.accounts import provider_account
from channels_app.providers.base import (
    HttpExchange,
    OutboundMessage,
    ProviderAmbiguous,
    ProviderUnavailable,
    SendError,
    SendResult,
)
from channels_app.providers.registry import adapter_for
from channels_app.ratelimit import reserve_slots
from channels_app.services.account_permits import account_permit_acquire, account_permit_release
from channels_app.services.circuit_breaker import (
    CIRCUIT_OPEN_CODE,
    breaker_open_until,
    breaker_record_failure,
    breaker_record_success,
)
from channels_app.services.dispatch_bulk import messages_send_bulk, send_units
from channels_app.services.dispatch_queue import DISPATCH_QUEUE, dispatch_defer
from channels_app.services.dispatch_recheck import SendGuard
from channels_app.services.test_mode import is_simulated, simulated_reports_apply, simulated_send
from channels_app.services.transitions import message_transition, messages_mark_sent
from channels_app.services.worker_heartbeat import Heartbeat, current_heartbeat
from channels_app.status import Status
from gateway import metrics
from gateway.channels import Channel
from gateway.db import insert_together
from gateway.request_context import request_id_for

logger = logging.getLogger(__name__)
log = structlog.get_logger(__name__)

# A slot this close is waited for in the worker; a later one goes back to the outbox. The
# tolerance absorbs the few milliseconds between taking the chunk's start time and reserving.
MAX_INLINE_WAIT_SECONDS = 1.0
SLOT_TOLERANCE_SECONDS = 0.05
RECORD_BATCH = 25
RECORD_INTERVAL_SECONDS = 0.05

def messages_claim(message_ids: list[uuid.UUID], *, traffic_account_id: uuid.UUID | None = None) -> list[Message]:
    """Claim the given messages that are still Ready and due for this worker (only those of
    ``traffic_account_id`` when given); return them as the claim left them, each with its account
    attached: one account object per account, loaded once for the chunk."""
    return queries.messages_claim(
        message_ids, worker_id=current_heartbeat().worker_id, now=timezone.now(), traffic_account_id=traffic_account_id
    )


def message_ids_by_account(message_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The chunk's ids grouped by traffic account, for a task that does not name its accounts (a
    failover's next hops, an operator's requeue, a task queued before tasks named them). A read by
    primary key; ids no longer stored drop out."""
    grouped: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for message_id, account_id in Message.objects.filter(id__in=message_ids).values_list("id", "traffic_account_id"):
        grouped[account_id].append(message_id)
    return dict(grouped)


def messages_release(
    message_ids: list[uuid.UUID], *, worker_id: str, until: datetime | None = None, reason: str = ""
) -> int:
    """Give back claims this worker holds and has not sent: Ready again, due ``until`` (now by
    default), and left for the sweeper to publish (no republish guard). The attempt the claim
    counted is taken back. ``reason`` (a parked account) shows in the message's error fields."""
    if not message_ids:
        return 0
    now = timezone.now()
    reasons = {"error_code": CIRCUIT_OPEN_CODE, "error_text": reason} if reason else {}
    return Message.objects.filter(id__in=message_ids, status=Status.SENDING, claimed_by=worker_id).update(
        status=Status.READY,
        claimed_at=None,
        queued_until=None,
        available_at=until or now,
        attempts=Greatest(F("attempts") - 1, 0),
        updated_at=now,
        **reasons,
    )


def retry_delay(*, attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter, never sooner than the provider asked."""
    base = settings.DISPATCH_RETRY_BASE_SECONDS * (2 ** max(0, attempt - 1))
    delay = min(random.uniform(base / 2, base), settings.DISPATCH_RETRY_MAX_SECONDS)
    return max(delay, retry_after or 0.0)


def _callback_url(message: Message) -> str | None:
    if message.channel != Channel.SMS:
        return None
    token = issue_callback_token(
        subject=str(message.id), purpose="dlr", generation=message.traffic_account.callback_token_generation
    )
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


class DispatchCrashed(SendError):
    """An unexpected exception while sending (a provider answer our parsing chokes on, a bug).
    It counts as an attempt like any failure, so the message reaches Failed after the last one
    instead of crashing again on every lease expiry, forever."""

    retryable = True
    kind = "crashed"


def _on_failure(message: Message, error: SendError) -> None:
    if error.retryable and message.attempts < settings.DISPATCH_MAX_ATTEMPTS:
        delay = retry_delay(attempt=message.attempts, retry_after=error.retry_after)
        if isinstance(error, ProviderAmbiguous):
            # Wait past the provider's usual report delay: a report naming our id moves the
            # message on meanwhile, and then the claim no longer takes it.
            delay = max(delay, settings.AMBIGUOUS_RETRY_DELAY_SECONDS)
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
        adapter = adapter_for(provider_account(message.traffic_account))
        result = adapter.send(outbound)
    except ProviderAmbiguous as ambiguous:
        error: SendError = ambiguous
        if adapter.dedupes_on_our_id:  # a retry at once cannot duplicate
            error = ProviderUnavailable(error.code, error.text, exchange=error.exchange)
        return Outcome(message=message, started=started, error=error)
    except SendError as error:
        return Outcome(message=message, started=started, error=error)
    except Exception as exc:
        logger.exception("dispatch of message %s crashed on attempt %d", message.id, message.attempts)
        crashed = DispatchCrashed("internal_error", f"{type(exc).__name__} while sending")
        return Outcome(message=message, started=started, error=crashed)
    return Outcome(message=message, started=started, result=result)


# ---- one provider call: one message, or a group of them (services/dispatch_bulk.py) ------------


def _send_unit(messages: list[Message]) -> list[Outcome]:
    """The outcomes of one provider call: ``message_send_once`` alone, ``send_many`` for two or
    more messages that ``send_units`` grouped. A crash while sending counts as an attempt of
    each message (``DispatchCrashed``, as in ``message_send_once``); one outside it leaves the
    message ``Sending`` for the lease and the sweeper. Neither stops the rest of the chunk."""
    if len(messages) == 1:
        try:
            return [message_send_once(messages[0])]
        except Exception:
            logger.exception("dispatch of message %s crashed", messages[0].id)
            return []
    if not messages:
        return []
    started = timezone.now()
    try:
        results = messages_send_bulk(messages)
    except Exception as exc:
        logger.exception("bulk dispatch of %d messages crashed", len(messages))
        crashed = DispatchCrashed("internal_error", f"{type(exc).__name__} while sending")
        results = [crashed] * len(messages)
    return [
        Outcome(message=m, started=started, result=r, error=None)
        if isinstance(r, SendResult)
        else Outcome(message=m, started=started, error=r)
        for m, r in zip(messages, results, strict=True)
    ]


def _call_outcome(outcomes: list[Outcome]) -> Outcome:
    """The outcome that feeds the breaker for a call: one call counts once, as unavailable only
    when every message of it was (a whole-call failure), else as its first success if any."""
    if all(o.error is not None and o.error.kind == "unavailable" for o in outcomes):
        return outcomes[0]
    return next((o for o in outcomes if o.result is not None), outcomes[0])


def outcomes_record(outcomes: list[Outcome]) -> None:
    """Attempts in one insert, successes in one update; failures (rare) one by one."""
    if not outcomes:
        return
    with transaction.atomic():
        insert_together(
            [
                _attempt_row(o.message, o.started, "sent", o.result.exchange, "")
                if o.result
                else _attempt_row(  # an outcome without a result has an error
                    o.message, o.started, (e := cast(SendError, o.error)).kind, e.exchange, f"{e.code}: {e.text}"
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
    outcomes_observe(outcomes)


def outcomes_observe(outcomes: list[Outcome]) -> None:
    """One metric update and one log line per recorded send, naming the message and the request
    that sent it, so a message's story joins across web, worker and callbacks."""
    for o in outcomes:
        exchange = o.result.exchange if o.result else o.error.exchange if o.error else None
        outcome = "sent" if o.result else o.error.kind if o.error else "error"
        metrics.message_dispatched(
            channel=o.message.channel,
            outcome=outcome,
            call_seconds=exchange.duration_ms / 1000 if exchange else None,
        )
        log.info(
            "dispatched",
            message_id=str(o.message.id),
            request_id=request_id_for(o.message.id),
            traffic_account_id=str(o.message.traffic_account_id),
            channel=o.message.channel,
            outcome=outcome,
            attempt=o.message.attempts,
            provider_message_id=o.result.provider_message_id if o.result else None,
            error=f"{o.error.code}: {o.error.text}"[:300] if o.error else None,
        )


@dataclass
class DispatchSummary:
    claimed: int = 0
    deferred: int = 0
    released: int = 0
    busy: int = 0  # put back in the queue unclaimed: the account had its DISPATCH_ACCOUNT_CONCURRENCY chunks in flight
    parked: int = 0  # given back: the account's circuit breaker is open


def messages_dispatch(
    message_ids: list[uuid.UUID],
    *,
    lane: str = DISPATCH_QUEUE,
    traffic_account_id: uuid.UUID | None = None,
    accounts: list[uuid.UUID] | None = None,
) -> DispatchSummary:
    """Claim and send a chunk, honouring each traffic account's throughput limit, its bound on
    chunks in flight in this lane and its circuit breaker (README "Fair dispatch").

    ``traffic_account_id`` is the account every message of the chunk belongs to, ``accounts``
    the account of each message, when the task names them; otherwise the chunk is grouped by
    account with one read. Each account's messages
    are claimed only once its permit is held; without one they are queued again later, untouched.

    Whatever the chunk claimed and did not get to (an exception, or this worker's heartbeat no
    longer written, so the sweeper may be releasing its claims) goes back to Ready at once.
    """
    summary = DispatchSummary()
    heartbeat = current_heartbeat()
    groups: dict[uuid.UUID, list[uuid.UUID]]
    if traffic_account_id:
        groups = {traffic_account_id: list(message_ids)}
    elif accounts is not None:
        groups = defaultdict(list)
        for message_id, account_id in zip(message_ids, accounts, strict=True):
            groups[account_id].append(message_id)
    else:
        groups = message_ids_by_account(message_ids)
    unsent: set[uuid.UUID] = set()
    permits: list[str] = []
    try:
        for account_id, ids in groups.items():
            _dispatch_account_chunk(account_id, ids, summary, unsent, heartbeat, lane, permits)
    finally:
        if unsent:
            summary.released = messages_release(list(unsent), worker_id=heartbeat.worker_id)
            logger.warning("dispatch chunk stopped early: %d claimed messages given back", summary.released)
        for permit in permits:
            account_permit_release(heartbeat, permit)
    return summary


def _requeue_busy(message_ids: list[uuid.UUID], account_id: uuid.UUID, lane: str) -> None:
    """Put the account's part of the chunk aside for a second or two, its rows untouched (the
    dispatch sweeper queues it again then): this thread takes the next task, most likely another
    account's."""
    retry_at = time.time() + random.uniform(0.5, 1.0) * settings.DISPATCH_ACCOUNT_BUSY_RETRY_SECONDS
    dispatch_defer(message_ids, queue=lane, traffic_account_id=account_id, until=retry_at)


def _dispatch_account_chunk(
    account_id: uuid.UUID,
    message_ids: list[uuid.UUID],
    summary: DispatchSummary,
    unsent: set[uuid.UUID],
    heartbeat: Heartbeat,
    lane: str,
    permits: list[str],
) -> None:
    """One account's part of a chunk: parked (claimed and given back with the reason, so the
    API shows why they wait), busy (queued again unclaimed) or claimed and sent under a permit."""
    parked_until = breaker_open_until(account_id)
    if parked_until is not None:
        messages = messages_claim(message_ids, traffic_account_id=account_id)
        summary.claimed += len(messages)
        unsent.update(m.id for m in messages)
        summary.parked += _park(messages, unsent, heartbeat, until=parked_until)
        return
    permit = account_permit_acquire(heartbeat, account_id, lane)
    if permit is None:
        _requeue_busy(message_ids, account_id, lane)
        summary.busy += len(message_ids)
        return
    permits.append(permit)
    messages = messages_claim(message_ids, traffic_account_id=account_id)
    summary.claimed += len(messages)
    unsent.update(m.id for m in messages)
    if messages:
        _send_claimed(messages, summary, unsent, heartbeat)
    account_permit_release(heartbeat, permits.pop())


def _give_back(
    group: list[Message], unsent: set[uuid.UUID], heartbeat: Heartbeat, *, until: float, reason: str = ""
) -> int:
    ids = [m.id for m in group if m.id in unsent]
    unsent.difference_update(ids)
    return messages_release(
        ids, worker_id=heartbeat.worker_id, until=datetime.fromtimestamp(until, tz=UTC), reason=reason
    )


def _park(group: list[Message], unsent: set[uuid.UUID], heartbeat: Heartbeat, *, until: float) -> int:
    """Give back an account's messages until its breaker closes, saying so in their error fields."""
    reason = (
        "the provider of this traffic account is unavailable; sending resumes at "
        f"{datetime.fromtimestamp(until, tz=UTC).isoformat(timespec='seconds')}"
    )
    return _give_back(group, unsent, heartbeat, until=until, reason=reason)


def _count_for_breaker(outcome: Outcome, *, reset: bool) -> tuple[float | None, bool]:
    """Feed the account's breaker: until when it is open if this outcome opened it, and whether
    the next success must reset the failure count. A success resets it only as the group's first
    outcome or after a failure, so a healthy account costs one Redis call per chunk, not per send."""
    account_id = outcome.message.traffic_account_id
    if outcome.error is not None and outcome.error.kind == "unavailable":
        return breaker_record_failure(account_id), True
    if reset:
        breaker_record_success(account_id)
    return None, False


def _send_claimed(group: list[Message], summary: DispatchSummary, unsent: set[uuid.UUID], heartbeat: Heartbeat) -> None:
    """Send one account's claimed messages under its permit; every message dealt with leaves
    ``unsent``. What the throughput limit puts beyond the next second goes back to the outbox at
    its slot; if the breaker opens meanwhile, the rest is parked."""
    started = time.time()
    account_id = group[0].traffic_account_id
    parked_until: float | None = None
    limit = group[0].traffic_account.throughput_per_second
    needs_slot = [m for m in group if limit and m.rate_slot_at is None]
    # needs_slot is empty when the account has no limit
    slots = (
        reserve_slots(account_id=account_id, per_second=cast(int, limit), count=len(needs_slot)) if needs_slot else []
    )
    slot_of = dict(zip([m.id for m in needs_slot], slots, strict=True))
    # Decide up front, against the chunk's start: what falls beyond the next second goes back
    # to the outbox now, so its claim is not held while the rest are sent.
    to_send: list[tuple[Message, float | None]] = []
    for message in group:
        slot = slot_of.get(message.id)
        if slot is not None and slot - started > MAX_INLINE_WAIT_SECONDS + SLOT_TOLERANCE_SECONDS:
            _defer(message, datetime.fromtimestamp(slot, tz=UTC))
            unsent.discard(message.id)
            summary.deferred += 1
        else:
            to_send.append((message, slot))
    pending: list[Outcome] = []
    flushed_at = time.monotonic()
    guard = SendGuard(account_id)
    breaker_reset = True
    for unit in send_units(to_send, settings.MITTO_BULK_MAX_DESTINATIONS):
        slot = max((s for _, s in unit if s is not None), default=None)
        if slot is not None and slot > time.time():
            time.sleep(slot - time.time())
        if not heartbeat.is_fresh() or parked_until is not None:
            break
        unsent.difference_update(message.id for message, _ in unit)
        # The guard gives up the claims of messages a report moved on or whose account was
        # deactivated meanwhile; those are skipped.
        allowed = [message for message, _ in unit if guard.allows(message)]
        outcomes = _send_unit(allowed)
        pending.extend(outcomes)
        if outcomes:
            parked_until, breaker_reset = _count_for_breaker(_call_outcome(outcomes), reset=breaker_reset)
        # Record in small batches: fewer statements, yet statuses stay fresh for reports.
        if len(pending) >= RECORD_BATCH or time.monotonic() - flushed_at > RECORD_INTERVAL_SECONDS:
            outcomes_record(pending)
            pending, flushed_at = [], time.monotonic()
    outcomes_record(pending)
    if parked_until is not None:
        summary.parked += _park(group, unsent, heartbeat, until=parked_until)
