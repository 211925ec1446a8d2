"""Counts of a customer's outbound messages per traffic account, channel and status.

Failover backups that were never triggered (``triggered_at`` IS NULL, the Chat API guide's "never
Created") are left out: docs/chat-api.md: such messages "will not be included in statistics", and
counting them would report messages that were never sent to anyone.

The window is bounded (``STATISTICS_MAX_RANGE_DAYS``, default 93: a quarter) because the count is
one aggregate over the rows in range: an unbounded range would scan a customer's whole history
on every call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet

from accounts_app.models import Customer
from channels_app.models import Message
from channels_app.status_filter import delivery_status_q


def max_range() -> timedelta:
    return timedelta(days=settings.STATISTICS_MAX_RANGE_DAYS)


@dataclass(frozen=True)
class StatisticsRow:
    traffic_account_id: uuid.UUID
    channel: str
    status: str
    count: int


@dataclass(frozen=True)
class Statistics:
    created_from: datetime
    created_to: datetime
    rows: list[StatisticsRow]

    @property
    def totals(self) -> dict[str, int]:
        """Counts per status over every row (summed here rather than by a second query)."""
        totals: dict[str, int] = {}
        for row in self.rows:
            totals[row.status] = totals.get(row.status, 0) + row.count
        return totals


def counted_messages(
    *,
    customer: Customer | None,
    created_from: datetime,
    created_to: datetime,
    traffic_account_id: uuid.UUID | None = None,
    channel: str | None = None,
) -> QuerySet[Message]:
    """The messages statistics count: outbound, triggered, created in [from, to).

    ``customer=None`` counts every customer's messages: only the staff dashboard asks for that;
    the API always passes the authenticated customer.
    """
    messages = Message.objects.filter(
        direction=Message.OUTBOUND,
        triggered_at__isnull=False,
        created_at__gte=created_from,
        created_at__lt=created_to,
    )
    if customer is not None:
        messages = messages.filter(customer=customer)
    if traffic_account_id is not None:
        messages = messages.filter(traffic_account_id=traffic_account_id)
    if channel:
        messages = messages.filter(channel=channel)
    return messages.order_by()


def message_statistics(
    *,
    customer: Customer,
    created_from: datetime,
    created_to: datetime,
    traffic_account_id: uuid.UUID | None = None,
    channel: str | None = None,
    delivery_status: str | None = None,
    reference: str | None = None,
) -> Statistics:
    """One GROUP BY over the customer's outbound, triggered messages created in [from, to).

    The caller validates the window (``from`` < ``to``, at most ``max_range()``).
    """
    messages = counted_messages(
        customer=customer,
        created_from=created_from,
        created_to=created_to,
        traffic_account_id=traffic_account_id,
        channel=channel,
    )
    if delivery_status:
        messages = messages.filter(delivery_status_q(delivery_status))
    if reference:
        messages = messages.filter(reference=reference)
    grouped = (
        messages.values("traffic_account_id", "channel", "status")
        .annotate(count=Count("id"))
        .order_by("traffic_account_id", "channel", "status")
    )
    rows = [
        StatisticsRow(
            traffic_account_id=item["traffic_account_id"],
            channel=item["channel"],
            status=item["status"],
            count=item["count"],
        )
        for item in grouped
    ]
    return Statistics(created_from=created_from, created_to=created_to, rows=rows)
