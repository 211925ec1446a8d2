"""Beat's heartbeat: the scheduler writes a timestamp to Redis every few seconds from its own
loop, so readiness (and the container's health check) can tell a beat that stopped scheduling
from one that is alive. Without beat no sweeper runs: no failover fires, no retry goes out.

``python -m gateway.heartbeat`` exits 0 when the heartbeat is fresh, 1 otherwise (for health checks).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings

from gateway.redis import get_redis

HEARTBEAT_KEY = "gw:beat:heartbeat"


def beat_heartbeat_write(now: float | None = None) -> None:
    # Expires on its own: a heartbeat far older than any limit is as good as none.
    get_redis().set(HEARTBEAT_KEY, repr(now if now is not None else time.time()), ex=86400)


def beat_heartbeat_age(now: float | None = None) -> float | None:
    """Seconds since beat's last heartbeat, or None when there is none."""
    value = get_redis().get(HEARTBEAT_KEY)
    if value is None:
        return None
    return max(0.0, (now if now is not None else time.time()) - float(value))


class HeartbeatScheduler(PersistentScheduler):
    """Celery's persistent scheduler, beating from its tick loop (ticks come at least every
    sweep period, half a second by default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_beat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.time()
        if now - self._last_beat >= settings.BEAT_HEARTBEAT_SECONDS:
            try:
                beat_heartbeat_write(now)
                self._last_beat = now
            except Exception:  # Redis away: scheduling goes on (and fails on its own terms)
                self.logger.warning("beat heartbeat not written", exc_info=True)
        interval = super().tick(*args, **kwargs)
        return min(interval, settings.BEAT_HEARTBEAT_SECONDS)


def main() -> int:
    import django

    django.setup()
    age = beat_heartbeat_age()
    limit = settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS
    if age is None or age > limit:
        print(f"beat heartbeat {'missing' if age is None else f'{age:.1f} s old'} (limit {limit} s)")
        return 1
    print(f"beat heartbeat {age:.1f} s old")
    return 0


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    sys.exit(main())
