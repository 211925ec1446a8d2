"""d. Delivery-report ingest: a burst of real-format Mitto DLRs against Sent messages.

The messages are written straight to the database as Sent (with a provider id, as dispatch
leaves them) and each callback carries a token signed with the stack's DLR key for its own
message, exactly what the gateway put in the callback URL it gave Mitto. The load generator
posts every callback once; the run ends when the database shows them all Delivered.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import Sizes
from bench.loadgen import LoadSpec
from bench.provision import SMS_SENDER, SMS_TEXT
from bench.scenarios.common import BenchContext, Case, last_time, thin, wait_for_count
from channels_app.status import Status

NAME = "dlr_ingest"
ACCOUNTING = {"settle": False}
TITLE = "d. Delivery-report ingest (/callbacks/sms/dlr)"
COLUMNS = [
    ("callbacks_per_second", "callbacks/s"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p99_ms", "p99 ms"),
    ("delivered", "delivered"),
    ("non_2xx", "non-2xx"),
]
DLR_PATH = "/callbacks/sms/dlr"
BATCH = 5000


def cases(sizes: Sizes) -> list[Case]:
    params = {"callbacks": sizes.dlr_callbacks, "connections": sizes.dlr_concurrency}
    return [Case(f"{sizes.dlr_callbacks // 1000}k", params)]


def sent_messages(ctx: BenchContext, *, count: int, bulk_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """``count`` Sent SMS of the bench customer, as (message id, provider message id)."""
    from django.db import transaction
    from django.utils import timezone

    from accounts_app.models import TrafficAccount
    from channels_app.models import Message
    from channels_app.services.conversations import conversation_get_or_create

    account = TrafficAccount.objects.get(id=ctx.accounts.primary_sms)
    conversation = conversation_get_or_create(account=account, user="+41760000000")
    now = timezone.now()
    created: list[tuple[uuid.UUID, str]] = []
    for start in range(0, count, BATCH):
        rows = [
            Message(
                id=uuid.uuid4(), customer_id=ctx.accounts.customer_id, traffic_account=account,
                conversation=conversation, channel="sms", direction=Message.OUTBOUND,
                destination=f"+4176{start + n:07d}", content={"text": SMS_TEXT, "sender": SMS_SENDER},
                status=Status.SENT, provider_message_id=uuid.uuid4().hex, bulk_id=bulk_id, attempts=1,
                sms_encoding="gsm", sms_segments=1, triggered_at=now, sent_at=now, created_at=now, updated_at=now,
            )
            for n in range(min(BATCH, count - start))
        ]
        with transaction.atomic():
            Message.objects.bulk_create(rows)
        created.extend((row.id, row.provider_message_id) for row in rows)
    return created


def write_callbacks(messages: list[tuple[uuid.UUID, str]], path: Path) -> None:
    """One ``<path>\\t<body>`` line per message: the URL the gateway gave Mitto and the report."""
    from channels_app.callbacks.tokens import callback_url_with_token, issue_callback_token

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for message_id, provider_id in messages:
            url = callback_url_with_token(DLR_PATH, issue_callback_token(subject=str(message_id), purpose="dlr"))
            body = json.dumps({"messageId": provider_id, "status": "Delivered", "errorcode": "0"},
                              separators=(",", ":"))
            out.write(f"{url}\t{body}\n")


def run(ctx: BenchContext, case: Case) -> dict[str, Any]:
    count, connections = case.params["callbacks"], case.params["connections"]
    customer, bulk_id = ctx.accounts.customer_id, uuid.uuid4()
    lines = ctx.config.run_dir / f"dlr-{bulk_id.hex[:8]}.txt"
    write_callbacks(sent_messages(ctx, count=count, bulk_id=bulk_id), lines)
    bound = ctx.config.sizes.wait_bound(60 + count / 50)
    spec = LoadSpec(
        url=ctx.config.web_url, mode="lines", connections=connections, duration_seconds=bound,
        lines_file=lines, lines=count, threads=2,
    )
    wall_start = datetime.now(UTC)
    started = time.monotonic()
    load = ctx.loadgen.process(spec).start()
    progress = wait_for_count(
        lambda: _delivered(customer, bulk_id), target=count, timeout=bound, interval=0.25, stall_seconds=30,
        stop_early=lambda: not load.running(),
    )
    polled_seconds = time.monotonic() - started
    load.interrupt()
    result = load.finish(timeout=60)
    lines.unlink(missing_ok=True)
    finished = last_time(customer, bulk_id=bulk_id, status=Status.DELIVERED)
    elapsed = (finished - wall_start).total_seconds() if finished and progress.done else polled_seconds
    return {
        "callbacks": count,
        "accepted": count,  # the Sent messages written for the reports to find
        "items": progress.value,
        "connections": connections,
        "complete": progress.done,
        "delivered": progress.value,
        "elapsed_seconds": round(elapsed, 2),
        "callbacks_per_second": round(progress.value / elapsed, 1) if elapsed > 0 else 0.0,
        "loadgen_requests_per_second": round(result.requests_per_second, 1),
        "latency_p50_ms": result.latency_ms.get("p50", 0.0),
        "latency_p95_ms": result.latency_ms.get("p95", 0.0),
        "latency_p99_ms": result.latency_ms.get("p99", 0.0),
        "latency_max_ms": result.latency_ms.get("max", 0.0),
        "requests": result.requests,
        "non_2xx": result.non_2xx,
        "statuses": result.statuses,
        "timeline_delivered": thin(progress.samples),
        "loadgen": result.tool,
    }


def _delivered(customer: uuid.UUID, bulk_id: uuid.UUID) -> int:
    from channels_app.models import Message

    return Message.objects.filter(customer_id=customer, bulk_id=bulk_id, status=Status.DELIVERED).count()
