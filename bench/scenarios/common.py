"""What the scenarios share: the context they run in, request bodies, and database polling."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.config import BenchConfig
from bench.fake_client import FakeProviderClient
from bench.loadgen import LoadGenerator
from bench.provision import SMS_SENDER, SMS_TEXT, Accounts, ApiClient
from bench.stack import Stack

SENDBULK_PATH = "/api/v1/Messages/sendbulk"


@dataclass
class BenchContext:
    config: BenchConfig
    stack: Stack
    api: ApiClient
    accounts: Accounts
    provider: FakeProviderClient
    loadgen: LoadGenerator


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, Any] = field(default_factory=dict)


class ScenarioFailed(RuntimeError):
    """A run could not be measured (an API call refused, a wait that ran out)."""


def destinations(prefix: str, start: int, count: int) -> list[str]:
    """Valid, distinct Swiss mobile numbers: ``+41 7x`` then seven digits."""
    return [f"{prefix}{n:07d}" for n in range(start, start + count)]


def sms_bulk_body(*, account: uuid.UUID, numbers: list[str], failover: dict[str, Any] | None = None) -> bytes:
    payload: dict[str, Any] = {"destinations": numbers, "sms": {"text": SMS_TEXT, "sender": SMS_SENDER}}
    if failover is None:
        payload["trafficAccountId"] = str(account)
    else:
        payload["failover"] = failover
    return json.dumps(payload, separators=(",", ":")).encode()


def post_bulk(ctx: BenchContext, body: bytes) -> dict[str, Any]:
    response = ctx.api.post_json_bytes(SENDBULK_PATH, body)
    if response.status_code != 200:
        raise ScenarioFailed(f"sendbulk answered {response.status_code}: {response.text[:500]}")
    return response.json()


@dataclass(frozen=True)
class BulkAccept:
    """What posting a case's sendbulk chunks took: when it began (wall clock and monotonic, from
    which the case times its pipeline), the requests posted, the destinations accepted and the
    seconds the posts took."""

    wall_start: datetime
    started: float
    chunks: int
    accepted: int
    accept_seconds: float


def post_bulk_chunks(ctx: BenchContext, *, total: int, chunk: int, prefix: str) -> BulkAccept:
    """Send ``total`` new destinations (numbers from ``prefix``) to the primary SMS account in
    sendbulk requests of ``chunk``, all bodies built before the clock starts."""
    bodies = [
        sms_bulk_body(account=ctx.accounts.primary_sms, numbers=destinations(prefix, start, min(chunk, total - start)))
        for start in range(0, total, chunk)
    ]
    wall_start = datetime.now(UTC)
    started = time.monotonic()
    accepted = sum(len(post_bulk(ctx, body)["messages"]) for body in bodies)
    return BulkAccept(wall_start, started, len(bodies), accepted, time.monotonic() - started)


def status_counts(customer_id: uuid.UUID, **filters: Any) -> dict[str, int]:
    from django.db.models import Count

    from channels_app.models import Message

    rows = (
        Message.objects.filter(customer_id=customer_id, **filters)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: n for status, n in rows}


def last_time(customer_id: uuid.UUID, field_name: str = "updated_at", **filters: Any) -> datetime | None:
    """The latest ``field_name`` of the matching messages: when the last of them changed, by
    the gateway's own clock rather than by when a poll noticed it."""
    from django.db.models import Max

    from channels_app.models import Message

    return Message.objects.filter(customer_id=customer_id, **filters).aggregate(last=Max(field_name))["last"]


@dataclass
class Progress:
    done: bool
    value: int
    samples: list[tuple[float, int]]


def wait_for_count(
    count: Callable[[], int], *, target: int, timeout: float, interval: float, stall_seconds: float,
    stop_early: Callable[[], bool] | None = None,
) -> Progress:
    """Poll ``count`` until it reaches ``target``; give up after ``timeout`` or when it has not
    moved for ``stall_seconds`` (a stuck pipeline must not hang the benchmark)."""
    started = time.monotonic()
    samples: list[tuple[float, int]] = []
    last_value, last_change = -1, started
    while True:
        now = time.monotonic()
        value = count()
        samples.append((round(now - started, 2), value))
        if value >= target:
            return Progress(True, value, samples)
        if value != last_value:
            last_value, last_change = value, now
        if now - started > timeout or now - last_change > stall_seconds:
            return Progress(False, value, samples)
        if stop_early is not None and stop_early() and now - last_change > min(5.0, stall_seconds):
            return Progress(False, value, samples)
        time.sleep(interval)


def thin(samples: list[tuple[float, int]], every: float = 1.0) -> list[tuple[float, int]]:
    """About one sample per ``every`` seconds, for the JSON report's timelines."""
    kept: list[tuple[float, int]] = []
    for sample in samples:
        if not kept or sample[0] - kept[-1][0] >= every or sample is samples[-1]:
            kept.append(sample)
    return kept
