"""A Redis lock that keeps periodic tasks from overlapping when a run is slower than its period."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from redis.exceptions import LockNotOwnedError

from gateway.redis import get_redis

logger = logging.getLogger(__name__)
T = TypeVar("T")


def single_flight(name: str, ttl_seconds: int) -> Callable[[Callable[..., T]], Callable[..., T | None]]:
    """Run the wrapped function only if no other process is running it; otherwise skip (None).

    The TTL bounds how long a crashed holder can block the next run. redis-py's ``Lock`` releases
    only with the token it acquired with, so a run that outlived its TTL never frees the lock of
    the run that took over.
    """

    def decorate(func: Callable[..., T]) -> Callable[..., T | None]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> T | None:
            lock = get_redis().lock(f"gw:lock:{name}", timeout=ttl_seconds, blocking=False)
            if not lock.acquire():
                logger.info("%s skipped: the previous run is still going", name)
                return None
            try:
                return func(*args, **kwargs)
            finally:
                try:
                    lock.release()
                except LockNotOwnedError:
                    logger.warning("%s outlived its %s s lock; the next run may have overlapped it", name, ttl_seconds)

        return wrapper

    return decorate
