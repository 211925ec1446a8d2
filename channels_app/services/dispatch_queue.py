"""Publishing dispatch work to the broker in chunks over one connection.

A chunk task carries up to DISPATCH_CHUNK_SIZE message ids, so a 100,000-message bulk costs a
thousand publishes, not a hundred thousand. A lost publish is not a lost message: the Message row
is the outbox and the dispatch sweeper republishes what stays Ready.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.conf import settings

logger = logging.getLogger(__name__)

DISPATCH_QUEUE = "dispatch"


def chunked(ids: list[uuid.UUID], size: int) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def enqueue_dispatch(message_ids: list[uuid.UUID]) -> None:
    from channels_app.tasks import dispatch_messages
    from gateway.celery import app

    try:
        with app.producer_or_acquire() as producer:
            for chunk in chunked(list(message_ids), settings.DISPATCH_CHUNK_SIZE):
                dispatch_messages.apply_async(
                    args=[[str(i) for i in chunk]], queue=DISPATCH_QUEUE, producer=producer, retry=False
                )
    except Exception:
        # The broker is down: the messages are committed as Ready and the sweeper will publish
        # them once it is back. Failing the API call here would make the client resend a message
        # that is already accepted.
        logger.exception("dispatch publish failed for %d messages; the sweeper will retry", len(message_ids))
