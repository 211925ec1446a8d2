"""a. Message/send: requests per second and latency percentiles at a few concurrencies.

wrk (or the asyncio client) keeps ``c`` connections busy for the run's duration, each request a
new destination, with the whole pipeline running behind the web: every accepted SMS is also
dispatched to the fake provider and reported back to the same web workers, as in production.
"""

from __future__ import annotations

from typing import Any

from bench.config import Sizes
from bench.loadgen import LoadSpec
from bench.provision import SMS_SENDER, SMS_TEXT
from bench.scenarios.common import BenchContext, Case

NAME = "single_send"
TITLE = "a. Message/send"
COLUMNS = [
    ("requests_per_second", "req/s"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p95_ms", "p95 ms"),
    ("latency_p99_ms", "p99 ms"),
    ("requests", "requests"),
    ("non_2xx", "non-2xx"),
]


def cases(sizes: Sizes) -> list[Case]:
    return [Case(f"c={c}", {"concurrency": c, "seconds": sizes.send_seconds}) for c in sizes.send_concurrency]


def run(ctx: BenchContext, case: Case) -> dict[str, Any]:
    concurrency, seconds = case.params["concurrency"], case.params["seconds"]
    spec = LoadSpec(
        url=ctx.config.web_url, mode="send", connections=concurrency, duration_seconds=seconds,
        token=ctx.api.token, account=str(ctx.accounts.primary_sms), text=SMS_TEXT, sender=SMS_SENDER,
        threads=min(concurrency, 2),
    )
    result = ctx.loadgen.process(spec).start().finish(timeout=seconds + 60)
    accepted = max(0, result.requests - result.non_2xx)
    return {
        "concurrency": concurrency,
        "accepted": accepted,
        "items": accepted,
        "requests_per_second": round(result.requests_per_second, 1),
        "latency_p50_ms": result.latency_ms.get("p50", 0.0),
        "latency_p95_ms": result.latency_ms.get("p95", 0.0),
        "latency_p99_ms": result.latency_ms.get("p99", 0.0),
        "latency_max_ms": result.latency_ms.get("max", 0.0),
        "requests": result.requests,
        "non_2xx": result.non_2xx,
        "socket_errors": sum(v for k, v in result.errors.items() if k != "status"),
        "statuses": result.statuses,
        "loadgen": result.tool,
    }
