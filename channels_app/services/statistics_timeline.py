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

from accounts_app.models import Customer
from channels_app.providers.registry import SPECS
from channels_app.queries import TIMELINE_KIND_COLUMNS, timeline_bucket_counts, timeline_summaries
from channels_app.services.statistics import counted_messages

# The counted kinds, in the order the dashboard draws them.
KINDS = tuple(TIMELINE_KIND_COLUMNS)
# Channels whose provider reports nothing after Sent (Telegram bots): Sent is final there, so
# their messages never count against a delivery rate.
CHANNELS_WITHOUT_RECEIPTS = tuple(channel for channel, spec in SPECS.items() if not spec.has_receipts)
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
    ).values("channel", "traffic_account_id", "failover_position", *TIMELINE_KIND_COLUMNS.values())
    base_sql, base_params = messages.query.sql_with_params()

    def series(key: SeriesKey) -> DeliverySeries:
        if key not in timeline.series:
            timeline.series[key] = DeliverySeries(key=key, counts={kind: [0] * count for kind in KINDS})
        return timeline.series[key]

    series(SeriesKey(None, None))  # the overall series exists even for an empty window
    for grouping, channel_value, account_id, kind, bucket_start, n in timeline_bucket_counts(
        base_sql, base_params, created_from, created_to, bucket
    ):
        index = int((bucket_start - created_from) / bucket)
        if 0 <= index < count:
            series(_key(grouping, channel_value, account_id)).counts[kind][index] = n
    summaries = timeline_summaries(base_sql, base_params, CHANNELS_WITHOUT_RECEIPTS)
    for grouping, channel_value, account_id, accepted, with_receipts, delivered, failed, failovers, p95 in summaries:
        target = series(_key(grouping, channel_value, account_id))
        target.accepted, target.with_receipts, target.delivered = accepted, with_receipts, delivered
        target.failed, target.failovers = failed, failovers
        target.p95_to_delivered_seconds = float(p95) if p95 is not None else None
    return timeline
