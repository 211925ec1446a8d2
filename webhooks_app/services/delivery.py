"""Deliver one webhook event: claim it, POST it signed, log the attempt, schedule or settle.

* Claim first: a conditional UPDATE moves ``next_attempt_at`` past a lease, so a duplicate task
  (or the sweeper republishing) finds nothing due and never posts the event twice at once. A
  worker that dies mid-attempt leaves the lease to expire, after which the sweeper picks the
  delivery up again.
* 2xx succeeds. Timeouts, connection errors, 5xx and 429 retry on a widening schedule with
  jitter, never sooner than a ``Retry-After`` asks, until the schedule has covered
  WEBHOOK_RETRY_FOR_SECONDS (a day and more by default). Redirects are not followed, and they and
  other 4xx fail at once: the receiver has answered, and asking again will not change its mind.
* The URL is checked again before each attempt (and at connect time, see ``transport``): a URL
  that was safe at registration may resolve elsewhere today. The customer's own allowed networks
  join the operator's policy.
* Each attempt records a ``reason`` code next to the operator's detail (``error``, the response
  excerpt): customers see the status code and a generic sentence per reason, never what the
  receiver answered or which address a host resolved to, so the delivery log is no probe.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from gateway import metrics
from gateway.problems import ProblemException
from gateway.safe_transport import webhook_session
from gateway.url_safety import (
    AddressPolicy,
    WebhookHostUnresolvable,
    WebhookUrlRefused,
    address_policy,
    url_check,
)
from webhooks_app.models import Webhook, WebhookAttempt, WebhookDelivery
from webhooks_app.services.publishing import enqueue_deliveries, republish_guard
from webhooks_app.services.signing import signature_headers

logger = logging.getLogger(__name__)

USER_AGENT = "omnichannel-gateway-webhooks/1"
# Delay after the n-th failed attempt; the last value repeats.
RETRY_SCHEDULE_SECONDS: tuple[int, ...] = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)
JITTER_FRACTION = 0.2  # added on top, never subtracted, so the schedule's span is a lower bound
MAX_RETRY_AFTER_SECONDS = 86400.0  # a receiver cannot park an event for longer than a day per ask
MAX_BODY_BYTES = 64 * 1024  # read at most this much of a response; the rest is irrelevant
EXCERPT_CHARS = 500

SUCCEEDED, RETRY, FAILED = "succeeded", "retry", "failed"


@dataclass(frozen=True)
class AttemptResult:
    outcome: str  # SUCCEEDED, RETRY or FAILED
    reason: str = ""  # a WebhookAttempt.REASON_* code: what the customer may be told
    status_code: int | None = None
    latency_ms: float = 0.0
    error: str = ""
    response_excerpt: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class DeliveryResult:
    delivery_id: uuid.UUID
    claimed: bool
    status: str | None = None  # the delivery's status after this run
    attempt: AttemptResult | None = None
    next_attempt_at: datetime | None = None


def timeout_seconds() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


def claim_lease_seconds() -> float:
    """How long a claim holds a delivery; always well beyond one attempt's worst case."""
    return max(float(settings.WEBHOOK_CLAIM_LEASE_SECONDS), 3 * timeout_seconds())


def backoff_seconds(attempt: int) -> int:
    return RETRY_SCHEDULE_SECONDS[min(max(attempt, 1), len(RETRY_SCHEDULE_SECONDS)) - 1]


def retry_delay(*, attempt: int, retry_after: float | None) -> float:
    base = backoff_seconds(attempt)
    delay = base + random.uniform(0, base * JITTER_FRACTION)
    return max(delay, min(retry_after or 0.0, MAX_RETRY_AFTER_SECONDS))


def retries_exhausted(attempt: int) -> bool:
    """Whether the attempts so far already span the retry window (by the schedule's delays,
    which the real gaps only exceed), so the ``attempt``-th failure is final."""
    return sum(backoff_seconds(n) for n in range(1, attempt)) >= settings.WEBHOOK_RETRY_FOR_SECONDS


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: either delta-seconds or an HTTP date."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def delivery_claim(*, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    """Take the delivery for one attempt if it is pending and due; ``None`` if someone else has
    it, it is not due yet, or it is settled."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(id=delivery_id, status=WebhookDelivery.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            attempts=F("attempts") + 1,
            next_attempt_at=now + timedelta(seconds=claim_lease_seconds()),
            queued_until=None,
            last_attempt_at=now,
        )
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("webhook__customer").filter(id=delivery_id).first()


def _read_excerpt(response: requests.Response, deadline: float) -> bytes:
    """The start of the body, bounded in size and time (a trickling receiver cannot hold us)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES or time.perf_counter() > deadline:
            break
    return b"".join(chunks)


def _classify(response: requests.Response, excerpt: str, latency_ms: float) -> AttemptResult:
    code = response.status_code
    common: dict[str, Any] = {"status_code": code, "latency_ms": latency_ms, "response_excerpt": excerpt}
    if 200 <= code < 300:
        return AttemptResult(outcome=SUCCEEDED, reason=WebhookAttempt.REASON_OK, **common)
    if code == 429 or code >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return AttemptResult(
            outcome=RETRY, reason=WebhookAttempt.REASON_HTTP_ERROR, error=f"HTTP {code}", retry_after=retry_after,
            **common,
        )
    if 300 <= code < 400:
        location = response.headers.get("Location", "")
        return AttemptResult(
            outcome=FAILED, reason=WebhookAttempt.REASON_REDIRECT,
            error=f"HTTP {code}: redirects are not followed (Location: {location[:200]})", **common,
        )
    return AttemptResult(
        outcome=FAILED, reason=WebhookAttempt.REASON_HTTP_ERROR, error=f"HTTP {code}: the receiver refused the event",
        **common,
    )


def webhook_address_policy(webhook: Webhook) -> AddressPolicy:
    """The operator's policy plus the networks staff allowed for this webhook's customer."""
    return address_policy(webhook.customer.webhook_allowed_networks or ())


def delivery_post(*, webhook: Webhook, delivery: WebhookDelivery) -> AttemptResult:
    """One signed POST of the event and what came of it. Never raises for network trouble."""
    policy = webhook_address_policy(webhook)
    try:
        url_check(webhook.url, policy)
    except WebhookUrlRefused as exc:
        return AttemptResult(outcome=FAILED, reason=WebhookAttempt.REASON_URL_REFUSED, error=f"URL refused: {exc}")
    except WebhookHostUnresolvable as exc:
        return AttemptResult(outcome=RETRY, reason=WebhookAttempt.REASON_UNRESOLVABLE, error=str(exc))
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signature_headers(webhook=webhook, event_id=str(delivery.id), timestamp=int(time.time()), body=body),
    }
    timeout = timeout_seconds()
    started = time.perf_counter()

    def elapsed_ms() -> float:
        return (time.perf_counter() - started) * 1000

    try:
        response = webhook_session(policy).post(
            webhook.url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True
        )
        try:
            raw = _read_excerpt(response, deadline=started + 2 * timeout)
        finally:
            response.close()
    except WebhookUrlRefused as exc:  # raised at connect time by the transport's address check
        return AttemptResult(
            outcome=FAILED, reason=WebhookAttempt.REASON_URL_REFUSED, latency_ms=elapsed_ms(),
            error=f"URL refused: {exc}",
        )
    except requests.Timeout:
        return AttemptResult(
            outcome=RETRY, reason=WebhookAttempt.REASON_TIMEOUT, latency_ms=elapsed_ms(),
            error=f"timeout: no answer within {timeout:g}s",
        )
    except requests.RequestException as exc:
        return AttemptResult(
            outcome=RETRY, reason=WebhookAttempt.REASON_CONNECTION, latency_ms=elapsed_ms(),
            error=f"connection error: {type(exc).__name__}: {exc}"[:1000],
        )
    excerpt = raw.decode("utf-8", "replace")[:EXCERPT_CHARS]
    return _classify(response, excerpt, elapsed_ms())


def delivery_settle(*, delivery: WebhookDelivery, started_at: datetime, result: AttemptResult) -> DeliveryResult:
    """Log the attempt and move the delivery on, if this claim still owns it."""
    status, next_attempt_at, error = WebhookDelivery.PENDING, None, result.error
    if result.outcome == SUCCEEDED:
        status = WebhookDelivery.SUCCEEDED
    elif result.outcome == FAILED:
        status = WebhookDelivery.FAILED
    elif retries_exhausted(delivery.attempts):
        status = WebhookDelivery.FAILED
        error = f"{error}; gave up after {delivery.attempts} attempts"
    else:
        delay = retry_delay(attempt=delivery.attempts, retry_after=result.retry_after)
        next_attempt_at = timezone.now() + timedelta(seconds=delay)
    with transaction.atomic():
        owned = WebhookDelivery.objects.filter(
            id=delivery.id, status=WebhookDelivery.PENDING, attempts=delivery.attempts
        ).update(status=status, next_attempt_at=next_attempt_at, queued_until=None, last_attempt_at=started_at)
        if owned:
            WebhookAttempt.objects.create(
                delivery_id=delivery.id,
                attempted_at=started_at,
                status_code=result.status_code,
                latency_ms=round(result.latency_ms, 1),
                error=error,
                reason=result.reason,
                response_excerpt=result.response_excerpt,
            )
    metrics.webhook_delivery_attempted(result.outcome)
    if not owned:
        # Deleted with its webhook, or the lease ran out and another claim owns it now.
        logger.warning("webhook delivery %s changed hands during its attempt; result dropped", delivery.id)
    return DeliveryResult(
        delivery_id=delivery.id,
        claimed=True,
        status=status,
        attempt=replace(result, error=error),
        next_attempt_at=next_attempt_at,
    )


def webhook_deliver(*, delivery_id: uuid.UUID) -> DeliveryResult:
    delivery = delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return DeliveryResult(delivery_id=delivery_id, claimed=False)
    started_at = timezone.now()
    if not delivery.webhook.is_active:
        result = AttemptResult(
            outcome=FAILED,
            reason=WebhookAttempt.REASON_INACTIVE,
            error="the webhook is inactive; the event was not sent",
        )
    else:
        result = delivery_post(webhook=delivery.webhook, delivery=delivery)
    return delivery_settle(delivery=delivery, started_at=started_at, result=result)


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a settled event again with the same event id (receivers deduplicate on it), with a
    fresh retry budget. A pending delivery is still being worked on: 409."""
    if not delivery.webhook.is_active:
        raise ProblemException(
            status_code=409, problem_type="webhook-inactive", detail="The webhook is inactive; activate it first."
        )
    now = timezone.now()
    with transaction.atomic():
        reset = (
            WebhookDelivery.objects.filter(id=delivery.id)
            .exclude(status=WebhookDelivery.PENDING)
            .update(status=WebhookDelivery.PENDING, attempts=0, next_attempt_at=now, queued_until=republish_guard(now))
        )
        if not reset:
            raise ProblemException(
                status_code=409,
                problem_type="delivery-pending",
                detail="The delivery is still pending; it is retried automatically.",
            )
        transaction.on_commit(lambda: enqueue_deliveries([delivery.id]))
    delivery.refresh_from_db()
    return delivery
