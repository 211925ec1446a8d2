"""A per-traffic-account circuit breaker: an account whose provider is down is parked.

Each send towards a provider that is unreachable, times out or answers 5xx costs a worker thread
up to the provider timeout; with 200,000 messages queued towards such a provider, every thread
waited on it and a single send on a healthy account waited more than four minutes. After
DISPATCH_BREAKER_FAILURES such outcomes in a row the breaker opens for
DISPATCH_BREAKER_COOLDOWN_SECONDS: the account's claimed messages go back to Ready, due when
the breaker closes, with the reason in their error fields (visible in the message lookup), and
nothing is sent to that provider meanwhile. After the cool-down the next send is a probe: one more
failure opens the breaker again at once, a success closes it (README "Fair dispatch").

State lives in Redis, shared by every worker: ``gw:breaker:<account>:failures`` (consecutive
failures) and ``gw:breaker:<account>:open`` (until when, as a unix time, with that expiry). The
breaker is advisory: while Redis cannot be reached it counts as closed and counts nothing, so a
broker restart never stops a chunk half-way with its sends unrecorded.
"""

from __future__ import annotations

import logging
import time
from uuid import UUID

from django.conf import settings
from redis.exceptions import RedisError

from gateway.redis import get_redis

logger = logging.getLogger(__name__)

CIRCUIT_OPEN_CODE = "circuit_open"


def _failures_key(account_id: UUID) -> str:
    return f"gw:breaker:{account_id}:failures"


def _open_key(account_id: UUID) -> str:
    return f"gw:breaker:{account_id}:open"


def breaker_open_until(account_id: UUID) -> float | None:
    """The unix time the account's breaker closes, or None when it is closed (or unknown)."""
    try:
        value = get_redis().get(_open_key(account_id))
    except RedisError:
        logger.warning("circuit breaker of %s unknown (Redis unreachable); treated as closed", account_id)
        return None
    if value is None:
        return None
    until = float(value)
    return until if until > time.time() else None


def breaker_record_success(account_id: UUID) -> None:
    try:
        get_redis().delete(_failures_key(account_id))
    except RedisError:
        logger.warning("circuit breaker of %s not reset (Redis unreachable)", account_id)


def breaker_record_failure(account_id: UUID) -> float | None:
    """Count an unavailable/timeout outcome; return until when the breaker is now open, if it is."""
    try:
        return _record_failure(account_id)
    except RedisError:
        logger.warning("circuit breaker of %s did not count a failure (Redis unreachable)", account_id)
        return None


def _record_failure(account_id: UUID) -> float | None:
    client = get_redis()
    threshold = settings.DISPATCH_BREAKER_FAILURES
    cooldown = settings.DISPATCH_BREAKER_COOLDOWN_SECONDS
    with client.pipeline() as pipe:
        pipe.incr(_failures_key(account_id))
        pipe.expire(_failures_key(account_id), int(cooldown * 10) + 60)
        failures = pipe.execute()[0]
    if failures < threshold:
        return None
    until = time.time() + cooldown
    with client.pipeline() as pipe:
        pipe.set(_open_key(account_id), str(until), px=int(cooldown * 1000))
        # Half-open after the cool-down: the first failure then opens it again at once.
        pipe.set(_failures_key(account_id), threshold - 1, ex=int(cooldown * 10) + 60)
        pipe.execute()
    return until
