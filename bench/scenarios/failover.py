"""e. Failover lag: how late second hops fire past their first hop's deadline.

Two-hop SMS chains go through sendbulk with a short timeout while the fake provider holds every
delivery report back (its ``hold`` switch), so every first hop misses its deadline and
beat's failover sweeper has to trigger every second hop. The deadline of a first hop is its
``triggered_at`` (the accept time the service computed the deadline from) plus the chain's
timeout, exactly what it stored before the sweeper cleared it; ``created_at`` is not used: it is
an ``auto_now_add`` field, stamped at INSERT time, seconds after the accept time in a big bulk.
The lag is the second hop's ``triggered_at`` minus that deadline, computed in PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.config import Sizes
from bench.scenarios.common import (
    BenchContext,
    Case,
    destinations,
    post_bulk,
    sms_bulk_body,
    status_counts,
    thin,
    wait_for_count,
)
from channels_app.status import Status

NAME = "failover"
# Reports are held back, so first hops stay Sent: count them at once, chains (first hops) only.
ACCOUNTING = {"settle": False, "first_hops_only": True}
TITLE = "e. Failover lag (second hop triggered_at - first hop deadline)"
COLUMNS = [
    ("lag_median_seconds", "median s"),
    ("lag_p99_seconds", "p99 s"),
    ("lag_max_seconds", "max s"),
    ("triggered", "triggered"),
    ("accept_seconds", "accept s"),
    ("deadline_margin_min_seconds", "deadline - accepted, min s"),
]

_LAG_SQL = """
SELECT count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY lag),
       max(lag), min(lag)
FROM (
    SELECT EXTRACT(EPOCH FROM second.triggered_at
                   - (first.triggered_at + make_interval(secs => first.failover_timeout_seconds))) AS lag
    FROM {table} first
    JOIN {table} second ON second.failover_chain_id = first.id AND second.failover_position = 1
    WHERE first.customer_id = %s AND first.failover_position = 0 AND second.triggered_at IS NOT NULL
) lags
"""


def cases(sizes: Sizes) -> list[Case]:
    return [
        Case(
            f"{sizes.failover_chains // 1000}k",
            {"chains": sizes.failover_chains, "chunk": sizes.failover_chunk,
             "timeout": sizes.failover_timeout_seconds},
        )
    ]


def lag_statistics(customer_id: Any) -> dict[str, Any]:
    from django.db import connection

    from channels_app.models import Message

    sql = _LAG_SQL.replace("{table}", connection.ops.quote_name(Message._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [customer_id])
        count, median, p99, worst, best = cursor.fetchone()

    def seconds(value: Any) -> float | None:
        return round(float(value), 3) if value is not None else None

    return {
        "measured": int(count),
        "lag_median_seconds": seconds(median),
        "lag_p99_seconds": seconds(p99),
        "lag_max_seconds": seconds(worst),
        "lag_min_seconds": seconds(best),
    }


_PENDING_SQL = """
SELECT max(EXTRACT(EPOCH FROM now() - (first.triggered_at + make_interval(secs => first.failover_timeout_seconds))))
FROM {table} first
JOIN {table} second ON second.failover_chain_id = first.id AND second.failover_position = 1
WHERE first.customer_id = %s AND first.failover_position = 0 AND second.triggered_at IS NULL
"""


def pending_lag(customer_id: Any) -> float | None:
    """How far past its deadline the most overdue second hop that has not fired yet is."""
    from django.db import connection

    from channels_app.models import Message

    sql = _PENDING_SQL.replace("{table}", connection.ops.quote_name(Message._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [customer_id])
        (value,) = cursor.fetchone()
    return round(float(value), 3) if value is not None else None


def deadline_margin(customer_id: Any, accepted: list[tuple[str, datetime]]) -> float | None:
    """The smallest (deadline - when the sendbulk answered) over the chunks."""
    from django.db.models import Min

    from channels_app.models import Message

    margins = []
    for bulk_id, answered_at in accepted:
        first = Message.objects.filter(customer_id=customer_id, bulk_id=bulk_id, failover_position=0).aggregate(
            accepted_at=Min("triggered_at"), timeout=Min("failover_timeout_seconds")
        )
        if first["accepted_at"] is not None and first["timeout"] is not None:
            deadline = first["accepted_at"] + timedelta(seconds=first["timeout"])
            margins.append((deadline - answered_at).total_seconds())
    return round(min(margins), 3) if margins else None


def _triggered(customer_id: Any) -> int:
    from channels_app.models import Message

    return Message.objects.filter(
        customer_id=customer_id, failover_position=1, triggered_at__isnull=False
    ).count()


def run(ctx: BenchContext, case: Case) -> dict[str, Any]:
    ctx.provider.update_settings(hold=True)
    try:
        return _run(ctx, case)
    finally:
        ctx.provider.reset()  # drop the held reports rather than release them into the next run
        ctx.provider.update_settings(hold=False)


def _run(ctx: BenchContext, case: Case) -> dict[str, Any]:
    chains, chunk, timeout = case.params["chains"], case.params["chunk"], case.params["timeout"]
    accounts = ctx.accounts
    failover = {
        "type": "Timeout",
        "timeoutFailover": {
            "timeoutInSeconds": timeout,
            "status": Status.DELIVERED,
            "trafficAccounts": [str(accounts.primary_sms), str(accounts.backup_sms)],
        },
    }
    bodies = [
        sms_bulk_body(
            account=accounts.primary_sms, numbers=destinations("+4175", start, min(chunk, chains - start)),
            failover=failover,
        )
        for start in range(0, chains, chunk)
    ]
    started = time.monotonic()
    accepted: list[tuple[str, datetime]] = []
    for body in bodies:
        bulk_id = post_bulk(ctx, body)["bulkId"]
        accepted.append((bulk_id, datetime.now(UTC)))
    accept_seconds = time.monotonic() - started
    progress = wait_for_count(
        lambda: _triggered(accounts.customer_id), target=chains,
        timeout=timeout + accept_seconds + ctx.config.sizes.wait_bound(180),
        interval=0.5, stall_seconds=max(30.0, timeout * 2.0),
    )
    lags = lag_statistics(accounts.customer_id)
    if not progress.done:
        # Hops still waiting are at least this late: the worst lag is no smaller.
        pending = pending_lag(accounts.customer_id)
        lags["lag_max_seconds"] = max(v for v in (lags["lag_max_seconds"], pending) if v is not None)
    return {
        "chains": chains,
        "accepted": chains,
        "items": progress.value,
        "timeout_seconds": timeout,
        "accept_seconds": round(accept_seconds, 2),
        "complete": progress.done,
        "triggered": progress.value,
        **lags,
        # Negative: a chunk's deadline had passed before its sendbulk answered (accept slower
        # than the timeout), so part of the lag is the accept, not the sweeper.
        "deadline_margin_min_seconds": deadline_margin(accounts.customer_id, accepted),
        "first_hop_statuses": status_counts(accounts.customer_id, failover_position=0),
        "timeline_triggered": thin(progress.samples, every=2.0),
    }
