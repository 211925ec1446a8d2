"""Single sends are published together to the priority lane: one dispatch task carries the ids of many sends."""

from __future__ import annotations

import base64
import json
import time
import uuid

from channels_app.services.dispatch_queue import DISPATCH_PRIORITY_QUEUE, CoalescingPublisher
from gateway.redis import get_redis


def _queued_batches() -> list[list[str]]:
    """The id lists of the dispatch tasks waiting in the broker (Redis list per queue)."""
    batches = []
    for raw in get_redis().lrange(DISPATCH_PRIORITY_QUEUE, 0, -1):
        envelope = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        batches.append(args[0])
    return batches


def _wait_for_batches(count: int) -> list[list[str]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        batches = _queued_batches()
        if sum(len(b) for b in batches) >= count:
            return batches
        time.sleep(0.01)
    return _queued_batches()


def test_sends_within_the_window_leave_as_one_task(empty_dispatch_queues):
    publisher = CoalescingPublisher(interval=0.2, chunk_size=100)
    ids = [uuid.uuid4() for _ in range(5)]

    for message_id in ids:
        publisher.submit([message_id])

    assert _wait_for_batches(5) == [[str(i) for i in ids]]


def test_a_full_chunk_leaves_without_waiting_for_the_window(empty_dispatch_queues):
    publisher = CoalescingPublisher(interval=30, chunk_size=3)
    ids = [uuid.uuid4() for _ in range(3)]

    for message_id in ids:
        publisher.submit([message_id])

    assert _wait_for_batches(3) == [[str(i) for i in ids]]


def test_flush_publishes_what_is_still_waiting(empty_dispatch_queues):
    publisher = CoalescingPublisher(interval=30, chunk_size=100)
    message_id = uuid.uuid4()
    publisher.submit([message_id])

    publisher.flush()

    assert _queued_batches() == [[str(message_id)]]
