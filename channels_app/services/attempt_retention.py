"""Provider request and response bodies in the dispatch attempt log expire.

Each attempt keeps the redacted request and response so an operator can see why a message
failed. Those bodies hold the message content (texts, names, media links), which is personal
data the gateway has no reason to keep once failures have been looked at: after
``DISPATCH_ATTEMPT_BODY_RETENTION_DAYS`` they are emptied; the outcome, status code, timing
and error text stay for statistics and audits.

The sweep walks the log in primary-key order (ids grow with time) from a watermark kept in
Redis, one short UPDATE per batch, so an hourly run touches only rows it has not seen. Losing
the watermark only makes one run start over.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.queries import attempt_bodies_expire_batch
from gateway.redis import get_redis

BATCH = 5000
WATERMARK_KEY = "gw:attempt-bodies:watermark"

def attempt_bodies_expire(*, older_than_days: int | None = None, batch: int = BATCH) -> int:
    """Empty the bodies of attempts older than the retention; returns how many were emptied."""
    days = settings.DISPATCH_ATTEMPT_BODY_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    redis = get_redis()
    watermark = int(redis.get(WATERMARK_KEY) or 0)
    emptied_total = 0
    while True:
        with transaction.atomic():
            emptied, last_old_id, younger = attempt_bodies_expire_batch(after_id=watermark, batch=batch, cutoff=cutoff)
        emptied_total += emptied
        if last_old_id is None:
            break
        if not younger:  # the whole batch was old: the watermark may move past it
            watermark = last_old_id
            redis.set(WATERMARK_KEY, watermark)
            continue
        break  # reached attempts still within the retention: the next run goes on from here
    return emptied_total
