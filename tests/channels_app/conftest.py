"""Fixtures shared by the dispatch tests."""

from __future__ import annotations

import pytest

from channels_app.services.dispatch_queue import DISPATCH_LANES, deferred_key
from gateway.redis import get_redis


@pytest.fixture
def empty_dispatch_queues():
    """The sweeper reads how much waits in the dispatch queues, and publishing tests read what
    landed there: each test starts and ends with both lanes, and the chunks put aside for them, empty."""
    keys = [*DISPATCH_LANES, *(deferred_key(lane) for lane in DISPATCH_LANES)]
    get_redis().delete(*keys)
    yield
    get_redis().delete(*keys)
