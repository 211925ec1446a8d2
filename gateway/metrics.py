"""Prometheus metrics: every instrument of the gateway, and the calls services make to move them.

Services call the small functions at the bottom, never prometheus_client directly, so names,
labels and buckets are decided here once. Under ``make run`` (gunicorn workers, Celery workers,
beat) several processes count at once: with ``PROMETHEUS_MULTIPROC_DIR`` set before this module
is imported, prometheus_client keeps each process's values in files there and ``/metrics``
(gateway/metrics_view.py) adds them up. Label values are bounded sets (channels, statuses,
outcomes, sweeper names), never ids.
"""

from __future__ import annotations

import os
import socket
import time

from prometheus_client import Counter, Gauge, Histogram, values


def process_identifier() -> str:
    """Names this process's metric files. Containers sharing the directory (docker-compose.yml)
    each have their own pid 1, 7, ...: the host name keeps their files apart."""
    host = socket.gethostname().replace("_", "-") or "host"
    return f"{host}-{os.getpid()}"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)

# Provider calls: the sandbox answers in milliseconds, real providers in tens to hundreds, the
# read timeout is 10 s.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Failover fires within a second of its deadline when healthy; a backlog shows as tens of seconds.
_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)

MESSAGES_ACCEPTED = Counter(
    "gateway_messages_accepted_total",
    "Messages accepted by Message/send and Messages/sendbulk (every hop of a failover chain).",
    ["channel"],
)
MESSAGES_DISPATCHED = Counter(
    "gateway_messages_dispatched_total",
    "Provider send attempts by outcome (sent, throttled, unavailable, rejected, config, error).",
    ["channel", "outcome"],
)
PROVIDER_CALL_SECONDS = Histogram(
    "gateway_provider_call_seconds", "Duration of provider send calls.", ["channel"], buckets=_LATENCY_BUCKETS
)
REPORTS_APPLIED = Counter(
    "gateway_delivery_reports_applied_total",
    "Provider delivery reports that moved a message's status.",
    ["channel", "status"],
)
WEBHOOK_DELIVERIES = Counter(
    "gateway_webhook_deliveries_total",
    "Customer webhook delivery attempts by outcome (succeeded, retry, failed).",
    ["outcome"],
)
FAILOVER_LAG_SECONDS = Histogram(
    "gateway_failover_lag_seconds",
    "How long after its deadline a missed failover deadline fired.",
    buckets=_LAG_BUCKETS,
)
DISPATCH_BACKLOG = Gauge(
    "gateway_dispatch_backlog",
    "Dispatch tasks waiting in the broker, as last measured by the outbox sweeper.",
    multiprocess_mode="mostrecent",
)
SWEEPER_LAST_RUN = Gauge(
    "gateway_sweeper_last_run_timestamp_seconds",
    "Unix time each housekeeping sweeper last finished a run.",
    ["sweeper"],
    multiprocess_mode="max",
)

for _outcome in ("succeeded", "retry", "failed"):  # shown at 0 before the first delivery
    WEBHOOK_DELIVERIES.labels(outcome=_outcome)


def messages_accepted(channel: str, count: int = 1) -> None:
    MESSAGES_ACCEPTED.labels(channel=channel).inc(count)


def message_dispatched(*, channel: str, outcome: str, call_seconds: float | None) -> None:
    MESSAGES_DISPATCHED.labels(channel=channel, outcome=outcome).inc()
    if call_seconds is not None:
        PROVIDER_CALL_SECONDS.labels(channel=channel).observe(call_seconds)


def report_applied(*, channel: str, status: str) -> None:
    REPORTS_APPLIED.labels(channel=channel, status=status).inc()


def webhook_delivery_attempted(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


def failover_fired(lags_seconds: list[float]) -> None:
    for lag in lags_seconds:
        FAILOVER_LAG_SECONDS.observe(max(0.0, lag))


def dispatch_backlog_measured(depth: int) -> None:
    DISPATCH_BACKLOG.set(depth)


def sweeper_ran(sweeper: str) -> None:
    SWEEPER_LAST_RUN.labels(sweeper=sweeper).set(time.time())
