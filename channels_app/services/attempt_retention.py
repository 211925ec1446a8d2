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
from django.db import connection, transaction
from django.utils import timezone

from channels_app.models import DispatchAttempt
from gateway.redis import get_redis

BATCH = 5000
WATERMARK_KEY = "gw:attempt-bodies:watermark"

_EXPIRE_SQL = (
    f"WITH batch AS (SELECT id, started_at FROM {DispatchAttempt._meta.db_table}"  # noqa: S608
    " WHERE id > %s ORDER BY id LIMIT %s),"
    f" emptied AS (UPDATE {DispatchAttempt._meta.db_table} t SET request = '{{}}'::jsonb, response = NULL"
    " FROM batch WHERE t.id = batch.id AND batch.started_at < %s"
    " AND (t.request <> '{}'::jsonb OR t.response IS NOT NULL) RETURNING t.id)"
    " SELECT (SELECT count(*) FROM emptied),"
    " (SELECT max(id) FROM batch WHERE started_at < %s),"
    " (SELECT count(*) FROM batch WHERE started_at >= %s)"
)


def attempt_bodies_expire(*, older_than_days: int | None = None, batch: int = BATCH) -> int:
    """Empty the bodies of attempts older than the retention; returns how many were emptied."""
    days = settings.DISPATCH_ATTEMPT_BODY_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    redis = get_redis()
    watermark = int(redis.get(WATERMARK_KEY) or 0)
    emptied_total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_EXPIRE_SQL, [watermark, batch, cutoff, cutoff, cutoff])
            emptied, last_old_id, younger = cursor.fetchone()
        emptied_total += emptied
        if last_old_id is None:
            break
        if not younger:  # the whole batch was old: the watermark may move past it
            watermark = last_old_id
            redis.set(WATERMARK_KEY, watermark)
            continue
        break  # reached attempts still within the retention: the next run goes on from here
    return emptied_total
