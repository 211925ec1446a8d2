"""The Celery broker transport: kombu's Redis transport with one fault fixed.

When the broker goes away under a busy worker, Celery's consumer first ``collect()``s the broken
connection, which detaches the kombu transport from it, and then ``close()``s it. Closing the
channel re-queues the messages the worker holds unacknowledged, which needs a fresh Redis client,
and building one reads the detached transport's ``client.hostname``: an ``AttributeError``, not
a connection error, so it escapes kombu's ``ignore_errors`` and the worker exits with
"Unrecoverable error" (kombu 5.7.0 with celery 5.7.0; measured: a SIGKILLed Redis took down every
worker that held tasks at that moment).

Here that case raises redis' ``ConnectionError`` instead, which is what it is: the connection is
gone. Kombu then skips the re-queue and the consumer reconnects. Nothing is lost by skipping it:
the held messages stay in Redis' unacked set (restored after the visibility timeout), the tasks
already running finish, and the Message rows are the outbox the dispatch sweeper republishes from.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection this channel belonged to is already closed")
        # kombu's Channel._connparams exists at runtime; the celery-types stubs leave it out.
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]


class Transport(kombu_redis.Transport):
    Channel = Channel
