"""Delivery over time for the staff dashboard: what happened per bucket, per channel and account.

It counts the same messages as ``GET /statistics`` (``statistics.counted_messages``: outbound,
triggered, created in the window), and adds when each thing happened to them: accepted
(triggered), sent, delivered, read and failed, each counted in the bucket of its own timestamp.
Things that happened after the window's end are left out; a message created before the window
is not counted, even if it was delivered inside it (the window selects messages, as in the API).

Two statements, each one pass over the window's rows: the per-bucket counts and the summaries
(delivery rate, failover hops, p95 time from accepted to Delivered). ``GROUPING SETS`` gives the
overall, per-channel and per-account figures at once, so a channel's p95 is a real percentile of
its messages rather than something averaged from its accounts' percentiles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from accounts_app.models import Customer
from channels_app.services.statistics import counted_messages
from gateway.channels import Channel

# The timestamps behind each counted kind, in the order the dashboard draws them.
KINDS = ("accepted", "sent", "delivered", "read", "failed")
_KIND_COLUMNS = {
    "accepted": "triggered_at",
    "sent": "sent_at",
    "delivered": "delivered_at",
    "read": "read_at",
    "failed": "failed_at",
}
# Telegram bots get no delivery receipts (Sent is final there): their messages never count
# against a delivery rate.
CHANNELS_WITHOUT_RECEIPTS = (Channel.TELEGRAM,)
# A dashboard chart has a point per bucket: bound it so a caller cannot ask for millions.
MAX_BUCKETS = 1500


@dataclass(frozen=True)
class SeriesKey:
    """``channel`` and ``traffic_account_id`` both None: every message of the window."""

    channel: str | None
    traffic_account_id: uuid.UUID | None


@dataclass
class DeliverySeries:
    key: SeriesKey
    counts: dict[str, list[int]]  # kind -> one count per bucket of the timeline
    accepted: int = 0
    with_receipts: int = 0  # accepted on channels that report delivery
    delivered: int = 0
    failed: int = 0
    failovers: int = 0  # backup hops that were triggered
    p95_to_delivered_seconds: float | None = None

    @property
    def delivery_rate(self) -> float | None:
        """Share of the accepted messages that reached Delivered (or Read), among those on
        channels that report delivery; None when there are none."""
        return self.delivered / self.with_receipts if self.with_receipts else None


@dataclass
class DeliveryTimeline:
    created_from: datetime
    created_to: datetime
    bucket: timedelta
    buckets: list[datetime]
    series: dict[SeriesKey, DeliverySeries] = field(default_factory=dict)

    @property
    def overall(self) -> DeliverySeries:
        return self.series[SeriesKey(None, None)]

    def per_channel(self) -> list[DeliverySeries]:
        return sorted(
            (s for s in self.series.values() if s.key.channel and s.key.traffic_account_id is None),
            key=lambda s: s.key.channel or "",
        )

    def per_account(self) -> list[DeliverySeries]:
        return sorted(
            (s for s in self.series.values() if s.key.traffic_account_id is not None),
            key=lambda s: (s.key.channel or "", str(s.key.traffic_account_id)),
        )


def _key(grouping: int, channel: str | None, account_id: uuid.UUID | None) -> SeriesKey:
    # GROUPING(channel, traffic_account_id): 0 per account, 1 per channel, 3 overall.
    if grouping == 3:
        return SeriesKey(None, None)
    if grouping == 1:
        return SeriesKey(channel, None)
    return SeriesKey(channel, account_id)


def delivery_timeline(
    *,
    created_from: datetime,
    created_to: datetime,
    bucket: timedelta,
    customer: Customer | None = None,
    traffic_account_id: uuid.UUID | None = None,
    channel: str | None = None,
) -> DeliveryTimeline:
    """Counts per ``bucket`` over [from, to), the buckets starting at ``created_from``."""
    count = int((created_to - created_from) / bucket)
    if count < 1 or count > MAX_BUCKETS:
        raise ValueError(f"the window must hold between 1 and {MAX_BUCKETS} buckets, not {count}")
    buckets = [created_from + i * bucket for i in range(count)]
    timeline = DeliveryTimeline(created_from=created_from, created_to=created_to, bucket=bucket, buckets=buckets)
    messages = counted_messages(
        customer=customer,
        created_from=created_from,
        created_to=created_to,
        traffic_account_id=traffic_account_id,
        channel=channel,
    ).values("channel", "traffic_account_id", "failover_position", *_KIND_COLUMNS.values())
    base_sql, base_params = messages.query.sql_with_params()

    def series(key: SeriesKey) -> DeliverySeries:
        if key not in timeline.series:
            timeline.series[key] = DeliverySeries(key=key, counts={kind: [0] * count for kind in KINDS})
        return timeline.series[key]

    series(SeriesKey(None, None))  # the overall series exists even for an empty window
    for grouping, channel_value, account_id, kind, bucket_start, n in _bucket_counts(
        base_sql, base_params, created_from, created_to, bucket
    ):
        index = int((bucket_start - created_from) / bucket)
        if 0 <= index < count:
            series(_key(grouping, channel_value, account_id)).counts[kind][index] = n
    for grouping, channel_value, account_id, accepted, with_receipts, delivered, failed, failovers, p95 in _summaries(
        base_sql, base_params
    ):
        target = series(_key(grouping, channel_value, account_id))
        target.accepted, target.with_receipts, target.delivered = accepted, with_receipts, delivered
        target.failed, target.failovers = failed, failovers
        target.p95_to_delivered_seconds = float(p95) if p95 is not None else None
    return timeline


def _bucket_counts(
    base_sql: str, base_params: tuple[Any, ...], start: datetime, end: datetime, bucket: timedelta
) -> list[tuple[Any, ...]]:
    kinds = ", ".join(f"('{kind}', m.{column})" for kind, column in _KIND_COLUMNS.items())
    # Column names and kinds are ours; every value is a parameter.
    sql = (
        "SELECT GROUPING(channel, traffic_account_id), channel, traffic_account_id, kind, bucket, count(*)"  # noqa: S608
        " FROM (SELECT m.channel, m.traffic_account_id, e.kind, date_bin(%s::interval, e.at, %s) AS bucket"
        f" FROM ({base_sql}) m CROSS JOIN LATERAL (VALUES {kinds}) AS e(kind, at)"
        " WHERE e.at >= %s AND e.at < %s) events"
        " GROUP BY GROUPING SETS ((kind, bucket), (channel, kind, bucket), (channel, traffic_account_id, kind, bucket))"
    )
    with connection.cursor() as cursor:
        # psycopg adapts a timedelta to an interval; the stubs' parameter types leave timedelta out.
        cursor.execute(sql, [bucket, start, *base_params, start, end])  # type: ignore[list-item]
        return cursor.fetchall()


def _summaries(base_sql: str, base_params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    # The table's columns are ours; every value is a parameter.
    sql = (
        "SELECT GROUPING(channel, traffic_account_id), channel, traffic_account_id,"  # noqa: S608
        " count(*), count(*) FILTER (WHERE channel <> ALL(%s::varchar[])),"
        " count(delivered_at), count(failed_at), count(*) FILTER (WHERE failover_position > 0),"
        " percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - triggered_at))"
        f" FROM ({base_sql}) m"
        " GROUP BY GROUPING SETS ((), (channel), (channel, traffic_account_id))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(CHANNELS_WITHOUT_RECEIPTS), *base_params])
        return cursor.fetchall()
