"""Publishing dispatch work to the broker in chunks over one connection.

A chunk task carries up to DISPATCH_CHUNK_SIZE message ids, so a 100,000-message bulk costs a
thousand publishes, not a hundred thousand. Single sends (one-time passwords, notifications) go
to their own queue, ``dispatch_priority``, which a worker of its own consumes, so they never wait
behind a campaign's chunks (README "Fair dispatch"). A lost publish is not a lost message: the Message row
is the outbox and the dispatch sweeper republishes what stays Ready.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from kombu.exceptions import ChannelError
from redis.exceptions import RedisError

from gateway.redis import get_redis

logger = logging.getLogger(__name__)

DISPATCH_QUEUE = "dispatch"
DISPATCH_PRIORITY_QUEUE = "dispatch_priority"
DISPATCH_LANES = (DISPATCH_PRIORITY_QUEUE, DISPATCH_QUEUE)


def chunked(ids: list[uuid.UUID], size: int) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _task_kwargs(
    chunk: list[uuid.UUID], traffic_account_id: uuid.UUID | None, account_of: Mapping[uuid.UUID, uuid.UUID] | None
) -> dict[str, Any]:
    if traffic_account_id:
        return {"traffic_account_id": str(traffic_account_id)}
    if account_of and all(i in account_of for i in chunk):
        accounts = {account_of[i] for i in chunk}
        if len(accounts) == 1:
            return {"traffic_account_id": str(accounts.pop())}
        return {"traffic_account_ids": [str(account_of[i]) for i in chunk]}
    return {}


def enqueue_dispatch(
    message_ids: list[uuid.UUID],
    *,
    queue: str = DISPATCH_QUEUE,
    traffic_account_id: uuid.UUID | None = None,
    account_of: Mapping[uuid.UUID, uuid.UUID] | None = None,
) -> None:
    """Publish chunk tasks to ``queue``: the bulk lane by default, DISPATCH_PRIORITY_QUEUE for
    single sends. Each task names the traffic account of its messages (``traffic_account_id``
    when they share one, as a bulk's do, else ``account_of`` per message), so the worker takes
    the account's permit before it touches a row; a task that names none (tasks queued before
    they did) is grouped by account by the worker with a read."""
    from channels_app.tasks import dispatch_messages
    from gateway.celery import app

    try:
        with app.producer_or_acquire() as producer:
            for chunk in chunked(list(message_ids), settings.DISPATCH_CHUNK_SIZE):
                dispatch_messages.apply_async(
                    args=([str(i) for i in chunk],),
                    kwargs=_task_kwargs(chunk, traffic_account_id, account_of),
                    queue=queue,
                    producer=producer,
                    retry=False,
                )
    except Exception:
        # The broker is down: the messages are committed as Ready and the sweeper will publish
        # them once it is back. Failing the API call here would make the client resend a message
        # that is already accepted.
        logger.exception("dispatch publish failed for %d messages; the sweeper will retry", len(message_ids))


def enqueue_dispatch_by_lane(
    message_ids: list[uuid.UUID],
    single_ids: set[uuid.UUID],
    account_of: Mapping[uuid.UUID, uuid.UUID] | None = None,
) -> None:
    """Publish ``single_ids`` (messages of no bulk) to the priority lane, the rest to the bulk lane."""
    singles = [i for i in message_ids if i in single_ids]
    bulk = [i for i in message_ids if i not in single_ids]
    if singles:
        enqueue_dispatch(singles, queue=DISPATCH_PRIORITY_QUEUE, account_of=account_of)
    if bulk:
        enqueue_dispatch(bulk, account_of=account_of)


# Chunks put aside until a moment later: a sorted set per lane, each member a chunk (its ids and
# account, plus a nonce so equal chunks stay apart) scored by when it is due. Kept in Redis, not
# as Celery ETA tasks, so a worker holds no more than the task it runs (prefetch 1) and a killed
# worker takes no deferred chunk with it. The dispatch sweeper, every second, publishes what is due.
_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""
DEFERRED_PUBLISH_BATCH = 500


def deferred_key(queue: str) -> str:
    return f"gw:dispatch:deferred:{queue}"


def dispatch_defer(message_ids: list[uuid.UUID], *, queue: str, traffic_account_id: uuid.UUID, until: float) -> None:
    """Publish this chunk of one account to ``queue`` at ``until`` (a Unix time), not now. Nothing
    is written to its messages: should Redis refuse, they are still Ready and the sweeper
    republishes them once their republish guard has passed."""
    member = json.dumps(
        {"ids": [str(i) for i in message_ids], "account": str(traffic_account_id), "nonce": uuid.uuid4().hex[:12]}
    )
    try:
        get_redis().zadd(deferred_key(queue), {member: until})
    except RedisError:
        logger.warning("%d messages not deferred (Redis unreachable); the sweeper republishes them", len(message_ids))


def deferred_dispatch_publish(now: float) -> int:
    """Publish the deferred chunks due by ``now`` to their lanes; how many were published. A chunk
    is taken out of the set before its publish: if that publish is lost, its messages are still
    Ready and the sweeper's republish guard covers them."""
    published = 0
    for queue in DISPATCH_LANES:
        try:
            due = get_redis().eval(_POP_DUE, 1, deferred_key(queue), now, DEFERRED_PUBLISH_BATCH)
        except RedisError:
            logger.warning("deferred dispatch chunks not checked (Redis unreachable)")
            return published
        for member in due:
            chunk = json.loads(member)
            enqueue_dispatch(
                [uuid.UUID(i) for i in chunk["ids"]], queue=queue, traffic_account_id=uuid.UUID(chunk["account"])
            )
        published += len(due)
    return published


def dispatch_backlog() -> int:
    """Bulk dispatch chunks waiting: tasks in the broker and chunks put aside for a permit (they
    wait as well, and the sweeper must not queue their messages again meanwhile); what cannot be
    counted (unreachable) counts 0."""
    return _queued_dispatch_tasks() + _deferred_chunks(DISPATCH_QUEUE)


def _deferred_chunks(queue: str) -> int:
    try:
        return int(get_redis().zcard(deferred_key(queue)))
    except RedisError:
        return 0


def _queued_dispatch_tasks() -> int:
    from gateway.celery import app

    try:
        with app.connection_for_read() as connection:
            # The broker's channel has queue_declare; the stubs type default_channel as kombu's bare StdChannel.
            channel = connection.default_channel
            return channel.queue_declare(queue=DISPATCH_QUEUE, passive=True).message_count  # type: ignore[attr-defined]
    except ChannelError:
        return 0  # the queue does not exist (yet): nothing is waiting in it
    except Exception:
        logger.warning("dispatch queue depth unknown; treating it as empty", exc_info=True)
        return 0


class CoalescingPublisher:
    """Publishes the ids accepted by this process from one background thread, many per task.

    A publish costs the web process about 2 ms of CPU (the profile of a single send), as much as
    the rest of the request. Under load, ids that arrive within ``interval`` of each other leave
    as one chunked task instead. What sits here is not at risk: it is committed as Ready with a
    republish deadline, so if the process dies first, the dispatch sweeper publishes it.
    """

    def __init__(self, *, interval: float, chunk_size: int) -> None:
        self.interval = interval
        self.chunk_size = chunk_size
        self._condition = threading.Condition()
        self._pending: list[uuid.UUID] = []
        self._account_of: dict[uuid.UUID, uuid.UUID] = {}
        self._pid = 0

    def submit(self, message_ids: list[uuid.UUID], traffic_account_id: uuid.UUID | None = None) -> None:
        with self._condition:
            self._ensure_thread()
            self._pending.extend(message_ids)
            if traffic_account_id:
                self._account_of.update(dict.fromkeys(message_ids, traffic_account_id))
            self._condition.notify()

    def _take(self) -> tuple[list[uuid.UUID], dict[uuid.UUID, uuid.UUID]]:
        batch, self._pending = self._pending, []
        account_of, self._account_of = self._account_of, {}
        return batch, account_of

    def flush(self) -> None:
        with self._condition:
            batch, account_of = self._take()
        if batch:
            enqueue_dispatch(batch, queue=DISPATCH_PRIORITY_QUEUE, account_of=account_of)

    def _ensure_thread(self) -> None:
        # A forked child (a gunicorn worker) inherits the object but not the thread.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._pending, self._account_of = [], {}
            threading.Thread(target=self._run, name="dispatch-publisher", daemon=True).start()
            atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending:
                    self._condition.wait()
                deadline = time.monotonic() + self.interval
                while len(self._pending) < self.chunk_size and (left := deadline - time.monotonic()) > 0:
                    self._condition.wait(left)
                batch, account_of = self._take()
            enqueue_dispatch(batch, queue=DISPATCH_PRIORITY_QUEUE, account_of=account_of)


_publisher: CoalescingPublisher | None = None
_publisher_lock = threading.Lock()


def enqueue_dispatch_soon(message_ids: list[uuid.UUID], traffic_account_id: uuid.UUID | None = None) -> None:
    """Publish single sends to the priority lane after at most DISPATCH_PUBLISH_COALESCE_SECONDS,
    together with other sends (of any account: the task names each message's); 0 publishes now."""
    global _publisher
    interval = settings.DISPATCH_PUBLISH_COALESCE_SECONDS
    if interval <= 0:
        enqueue_dispatch(message_ids, queue=DISPATCH_PRIORITY_QUEUE, traffic_account_id=traffic_account_id)
        return
    if _publisher is None:
        with _publisher_lock:
            if _publisher is None:
                _publisher = CoalescingPublisher(interval=interval, chunk_size=settings.DISPATCH_CHUNK_SIZE)
    _publisher.submit(message_ids, traffic_account_id)
