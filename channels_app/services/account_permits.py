"""A bound on how many dispatch chunks of one traffic account are being sent at once.

Without it one account's campaign took every worker thread: with 5,000 destinations towards a
provider answering in 2 s, a send on another account waited 42 s in the FIFO dispatch queue. A
chunk now holds a permit of its account (per lane, across all workers) while it sends; a chunk
that finds none free gives its messages back to the outbox for a moment and the thread takes the
next task, which is likely another account's (README "Fair dispatch").

The permits are a Redis sorted set per account and lane, each member a holder's token scored by
its expiry. The worker's heartbeat thread extends the permits it holds, so those of a killed
worker lapse with its heartbeat instead of blocking the account. While Redis cannot be reached a
chunk goes on without a permit (its worker stops sending anyway once its heartbeat is stale).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from uuid import UUID

from django.conf import settings
from redis.commands.core import Script
from redis.exceptions import RedisError

from channels_app.services.worker_heartbeat import Heartbeat
from gateway.redis import get_redis

logger = logging.getLogger(__name__)

# KEYS[1] the account's permit set; ARGV: now_ms, expiry_ms, limit, token. 1 when acquired.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""

_acquire_script: Script | None = None
UNCOUNTED = ""  # the token of a chunk that went on without a permit (Redis unreachable)


def _permit_key(account_id: UUID, lane: str) -> str:
    return f"gw:permits:{lane}:{account_id}"


def _script() -> Script:
    global _acquire_script
    if _acquire_script is None:
        _acquire_script = get_redis().register_script(_ACQUIRE)
    return _acquire_script


class HeldPermits:
    """The permits this process holds, extended on every heartbeat."""

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat
        self._held: dict[str, str] = {}  # token -> key
        self._lock = threading.Lock()
        heartbeat.on_beat(self.extend)

    def acquire(self, account_id: UUID, lane: str, limit: int) -> str | None:
        """A token when a permit was free, else None."""
        key, token = _permit_key(account_id, lane), f"{self.heartbeat.worker_id}:{uuid.uuid4().hex[:8]}"
        now_ms = int(time.time() * 1000)
        try:
            acquired = _script()(keys=[key], args=[now_ms, now_ms + int(self.heartbeat.ttl * 1000), limit, token])
        except RedisError:
            logger.warning("dispatch permit of %s not checked (Redis unreachable)", account_id)
            return UNCOUNTED
        if not acquired:
            return None
        with self._lock:
            self._held[token] = key
        return token

    def release(self, token: str) -> None:
        with self._lock:
            key = self._held.pop(token, None)
        if key is None:
            return
        try:
            get_redis().zrem(key, token)
        except RedisError:
            logger.warning("dispatch permit %s not released (Redis unreachable); it lapses", token)

    def extend(self) -> None:
        with self._lock:
            held = list(self._held.items())
        if not held:
            return
        expiry_ms = int((time.time() + self.heartbeat.ttl) * 1000)
        with get_redis().pipeline(transaction=False) as pipe:
            for token, key in held:
                pipe.zadd(key, {token: expiry_ms}, xx=True)
                pipe.pexpireat(key, expiry_ms)
            pipe.execute()


_held: HeldPermits | None = None
_held_lock = threading.Lock()


def held_permits(heartbeat: Heartbeat) -> HeldPermits:
    global _held
    if _held is None or _held.heartbeat is not heartbeat:
        with _held_lock:
            if _held is None or _held.heartbeat is not heartbeat:
                _held = HeldPermits(heartbeat)
    return _held


def account_permit_acquire(heartbeat: Heartbeat, account_id: UUID, lane: str) -> str | None:
    """A permit to send a chunk of ``account_id`` in ``lane`` now, or None when the account
    already has DISPATCH_ACCOUNT_CONCURRENCY chunks being sent there."""
    return held_permits(heartbeat).acquire(account_id, lane, settings.DISPATCH_ACCOUNT_CONCURRENCY)


def account_permit_release(heartbeat: Heartbeat, token: str) -> None:
    held_permits(heartbeat).release(token)
