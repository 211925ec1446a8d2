"""A Redis lock that keeps periodic tasks from overlapping when a run is slower than its period."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from gateway.redis import get_redis

logger = logging.getLogger(__name__)
T = TypeVar("T")

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def single_flight(name: str, ttl_seconds: int) -> Callable[[Callable[..., T]], Callable[..., T | None]]:
    """Run the wrapped function only if no other process is running it; otherwise skip (None).

    The TTL bounds how long a crashed holder can block the next run.
    """

    def decorate(func: Callable[..., T]) -> Callable[..., T | None]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> T | None:
            client = get_redis()
            key, token = f"gw:lock:{name}", uuid.uuid4().hex
            if not client.set(key, token, nx=True, px=ttl_seconds * 1000):
                logger.info("%s skipped: the previous run is still going", name)
                return None
            try:
                return func(*args, **kwargs)
            finally:
                client.eval(_RELEASE, 1, key, token)

        return wrapper

    return decorate
