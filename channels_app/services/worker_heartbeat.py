"""Which dispatch workers are alive: one Redis key per worker process with a short TTL.

A message a worker has claimed (``Sending``) carries the worker's id in ``claimed_by``. Before,
a killed worker's claims waited out the 300 s claim lease; now the dispatch sweeper releases the
claims of every worker whose heartbeat key is gone (README "Worker crashes"). The key is written
by a daemon thread every ``DISPATCH_HEARTBEAT_SECONDS``, so a live worker's key never lapses
unless the process is dead, frozen, or cut off from Redis.

The worker fences itself with the same clock: a worker that could not write its heartbeat for
longer than ``fence_seconds`` must assume its claims are being released, so it sends nothing more
and gives back what it holds (``is_fresh``). The sweeper waits longer than that before releasing
(key TTL plus a confirmation window), so the two never both hold a message.

Other per-worker leases (the per-account dispatch permits) are refreshed by the same thread
through ``on_beat`` callbacks, so they lapse exactly when the worker's heartbeat does.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from django.conf import settings

from gateway.redis import get_redis

logger = logging.getLogger(__name__)

KEY_PREFIX = "gw:worker:"


def heartbeat_key(worker_id: str) -> str:
    return f"{KEY_PREFIX}{worker_id}"


class Heartbeat:
    """The heartbeat of this process. ``start`` beats once synchronously, then from a thread."""

    def __init__(self, *, interval: float, ttl: float) -> None:
        self.worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.interval = interval
        self.ttl = ttl
        self._last_beat = float("-inf")  # time.monotonic() of the last successful write
        self._callbacks: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None

    @property
    def fence_seconds(self) -> float:
        """Longest time since the last written beat in which this worker still sends."""
        return max(self.interval, self.ttl - self.interval)

    def is_fresh(self) -> bool:
        return time.monotonic() - self._last_beat < self.fence_seconds

    def on_beat(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after every beat (in the heartbeat thread; exceptions are logged)."""
        self._callbacks.append(callback)

    def beat(self) -> bool:
        try:
            get_redis().set(heartbeat_key(self.worker_id), str(time.time()), px=int(self.ttl * 1000))
        except Exception:
            logger.warning("worker heartbeat %s could not be written", self.worker_id, exc_info=True)
            return False
        self._last_beat = time.monotonic()
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:
                logger.warning("heartbeat callback failed", exc_info=True)
        return True

    def start(self) -> Heartbeat:
        self.beat()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        # Beats until the process exits. The key is never deleted early: it expires on its own
        # after the last beat, by when a warm shutdown has finished its tasks.
        while True:
            time.sleep(self.interval)
            self.beat()


_current: Heartbeat | None = None
_current_pid = 0
_lock = threading.Lock()


def current_heartbeat() -> Heartbeat:
    """This process's heartbeat, started on first use (a forked child gets its own)."""
    global _current, _current_pid
    if _current is None or _current_pid != os.getpid():
        with _lock:
            if _current is None or _current_pid != os.getpid():
                _current = Heartbeat(
                    interval=settings.DISPATCH_HEARTBEAT_SECONDS, ttl=settings.DISPATCH_HEARTBEAT_TTL_SECONDS
                ).start()
                _current_pid = os.getpid()
    return _current


def workers_alive(worker_ids: list[str]) -> dict[str, bool]:
    """Whether each worker's heartbeat key exists now."""
    if not worker_ids:
        return {}
    with get_redis().pipeline(transaction=False) as pipe:
        for worker_id in worker_ids:
            pipe.exists(heartbeat_key(worker_id))
        return {worker_id: bool(found) for worker_id, found in zip(worker_ids, pipe.execute(), strict=True)}


_MISSING_PREFIX = "gw:worker-missing:"


def workers_confirmed_dead(worker_ids: list[str], *, confirm_seconds: float) -> list[str]:
    """The workers whose heartbeat key has been missing at every look for ``confirm_seconds``.

    One missing key is not enough: right after a broker restart a live worker may not have written
    its key again yet. The first look that misses a key records when; a later look releases the
    worker only once that is ``confirm_seconds`` ago and the key is still missing. A key seen
    again clears the record.
    """
    alive = workers_alive(worker_ids)
    client = get_redis()
    now = time.time()
    dead: list[str] = []
    for worker_id, is_alive in alive.items():
        marker = f"{_MISSING_PREFIX}{worker_id}"
        if is_alive:
            client.delete(marker)
            continue
        client.set(marker, str(now), nx=True, ex=max(60, int(confirm_seconds * 10)))
        first_missed = float(client.get(marker) or now)
        if now - first_missed >= confirm_seconds:
            dead.append(worker_id)
    return dead
