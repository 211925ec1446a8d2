"""c. End to end: from the first sendbulk POST until every message is Delivered through the
fake provider's real-format delivery reports (posted to the web's DLR endpoint with their tokens).

The client posts the bulk in chunks, one after the other, like an application splitting a big
list. The database is polled for progress; the end time is the last message's ``updated_at``
(the database's own clock), so the polling interval does not blur the result.
"""

from __future__ import annotations

import time
from typing import Any

from bench.config import Sizes
from bench.scenarios.common import (
    BenchContext,
    Case,
    last_time,
    post_bulk_chunks,
    status_counts,
    thin,
    wait_for_count,
)
from channels_app.status import Status

NAME = "end_to_end"
TITLE = "c. End to end (accept -> provider -> Delivered)"
COLUMNS = [
    ("messages_per_second", "msg/s"),
    ("accept_seconds", "accept s"),
    ("all_sent_seconds", "all sent s"),
    ("all_delivered_seconds", "all delivered s"),
    ("delivered", "delivered"),
]
SENT_OR_LATER = (Status.SENT, Status.DELIVERED, Status.READ)


def cases(sizes: Sizes) -> list[Case]:
    return [Case(f"{sizes.e2e_messages // 1000}k", {"messages": sizes.e2e_messages, "chunk": sizes.e2e_chunk})]


def drain(ctx: BenchContext, metrics: dict[str, Any], *, timeout: float) -> int:
    """Wait (bounded) for the rest of the run's messages to be Delivered; how many are."""
    customer = ctx.accounts.customer_id
    return wait_for_count(lambda: status_counts(customer).get(Status.DELIVERED, 0), target=metrics["accepted"],
                          timeout=timeout, interval=0.5, stall_seconds=10).value


def run(ctx: BenchContext, case: Case) -> dict[str, Any]:
    total, chunk = case.params["messages"], case.params["chunk"]
    customer = ctx.accounts.customer_id
    posted = post_bulk_chunks(ctx, total=total, chunk=chunk, prefix="+4177")
    wall_start, started, accepted, accept_seconds = (
        posted.wall_start, posted.started, posted.accepted, posted.accept_seconds
    )

    progress = wait_for_count(
        lambda: status_counts(customer).get(Status.DELIVERED, 0),
        target=total, timeout=ctx.config.sizes.wait_bound(120 + total / 100), interval=0.5, stall_seconds=60,
    )
    polled_seconds = time.monotonic() - started
    counts = status_counts(customer)
    all_sent = sum(counts.get(s, 0) for s in SENT_OR_LATER) >= total
    last_sent = last_time(customer, "sent_at") if all_sent else None
    last_delivered = last_time(customer, status=Status.DELIVERED) if progress.done else None
    sent_seconds = (last_sent - wall_start).total_seconds() if last_sent else None
    delivered_seconds = (last_delivered - wall_start).total_seconds() if last_delivered else None
    delivered = counts.get(Status.DELIVERED, 0)
    stats = ctx.provider.stats()
    return {
        "messages": total,
        "accepted": accepted,
        "items": delivered,
        "chunks": posted.chunks,
        "complete": progress.done,
        "delivered": delivered,
        "accept_seconds": round(accept_seconds, 2),
        "all_sent_seconds": round(sent_seconds, 2) if sent_seconds else None,
        "all_delivered_seconds": round(delivered_seconds, 2) if delivered_seconds else None,
        # Cut short (quick mode's cap, a stall): the rate reached until then.
        "messages_per_second": round(delivered / (delivered_seconds or polled_seconds), 1),
        "final_statuses": counts,
        "provider_sends": stats["counts"].get("sends", 0),
        "provider_reports": stats["report_statuses"],
        "timeline_delivered": thin(progress.samples, every=2.0),
    }
