"""f. End to end with a customer webhook: accept -> provider -> Delivered -> signed webhook.

Like case c, but the customer has a webhook subscribed to ``Delivered`` on the sending traffic
account, pointed at the receiver inside the fake provider, so every delivery report also makes
the gateway sign and POST an event to the customer. The run ends when the receiver has counted a
webhook for every message; the rate is messages per second from the first sendbulk POST to the
last webhook received (the receiver's clock, the same machine's).
"""

from __future__ import annotations

import time
from typing import Any

from bench.config import Sizes
from bench.scenarios.common import (
    BenchContext,
    Case,
    post_bulk_chunks,
    status_counts,
    thin,
    wait_for_count,
)
from channels_app.status import Status

NAME = "webhooks"
TITLE = "f. End to end with a Delivered webhook (accept -> provider -> Delivered -> customer webhook)"
COLUMNS = [
    ("messages_per_second", "msg/s"),
    ("webhooks_received", "webhooks received"),
    ("webhooks_signed", "signed"),
    ("delivered", "delivered"),
    ("accept_seconds", "accept s"),
    ("last_webhook_seconds", "last webhook s"),
]


def cases(sizes: Sizes) -> list[Case]:
    return [Case(f"{sizes.webhook_messages // 1000}k", {"messages": sizes.webhook_messages,
                                                         "chunk": sizes.e2e_chunk})]


def webhook_subscribe(ctx: BenchContext) -> Any:
    """The customer's webhook on Delivered for the primary SMS account, through the services a
    customer's API call uses (so the subscription cache hears of it)."""
    from accounts_app.models import Customer
    from webhooks_app.services.subscriptions import webhook_apply, webhook_create

    customer = Customer.objects.get(id=ctx.accounts.customer_id)
    webhook = webhook_create(customer=customer, name="Bench receiver", url=ctx.provider.webhook_url(),
                             triggers=["Delivered"])
    webhook_apply(customer=customer, webhook_id=webhook.id, traffic_account_id=ctx.accounts.primary_sms)
    return webhook


def _received(ctx: BenchContext) -> int:
    return int(ctx.provider.stats()["counts"].get("webhooks", 0))


def drain(ctx: BenchContext, metrics: dict[str, Any], *, timeout: float) -> int:
    """Wait (bounded) for the webhooks of the rest of the run's messages; how many arrived."""
    return wait_for_count(lambda: _received(ctx), target=metrics["accepted"], timeout=timeout, interval=0.5,
                          stall_seconds=10).value


def run(ctx: BenchContext, case: Case) -> dict[str, Any]:
    from webhooks_app.services.subscriptions import webhook_update

    webhook = webhook_subscribe(ctx)
    try:
        return _run(ctx, case)
    finally:
        # Deactivated, not deleted: deleting collects its tens of thousands of deliveries in Python.
        webhook_update(webhook=webhook, is_active=False)


def _run(ctx: BenchContext, case: Case) -> dict[str, Any]:
    total, chunk = case.params["messages"], case.params["chunk"]
    customer = ctx.accounts.customer_id
    posted = post_bulk_chunks(ctx, total=total, chunk=chunk, prefix="+4171")
    wall_start, started, accepted, accept_seconds = (
        posted.wall_start, posted.started, posted.accepted, posted.accept_seconds
    )

    progress = wait_for_count(
        lambda: _received(ctx),
        target=total, timeout=ctx.config.sizes.wait_bound(120 + total / 100), interval=0.5, stall_seconds=60,
    )
    polled_seconds = time.monotonic() - started
    stats = ctx.provider.stats()
    received = int(stats["counts"].get("webhooks", 0))
    last = stats.get("last_webhook_at")
    last_seconds = (last - wall_start.timestamp()) if last and progress.done else None
    counts = status_counts(customer)
    return {
        "messages": total,
        "accepted": accepted,
        "items": received,
        "complete": progress.done,
        "webhooks_received": received,
        "webhooks_signed": int(stats["counts"].get("webhooks_signed", 0)),
        "webhook_events": stats["webhook_events"],
        "delivered": counts.get(Status.DELIVERED, 0),
        "accept_seconds": round(accept_seconds, 2),
        "last_webhook_seconds": round(last_seconds, 2) if last_seconds else None,
        # Cut short (quick mode's cap, a stall): the rate reached until then.
        "messages_per_second": round(received / (last_seconds or polled_seconds), 1),
        "final_statuses": counts,
        "timeline_webhooks": thin(progress.samples, every=2.0),
    }
