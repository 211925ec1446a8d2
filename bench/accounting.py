"""Nothing lost: what the API accepted against what the database holds, per run.

Each scenario says how many messages the gateway accepted (2xx answers, the messages listed by
sendbulk, the rows written for the report-ingest case). After the run the customer's messages
are counted by status: those in a final state (Delivered, Read, Failed, Cancelled) and those
still on their way (Scheduled, Ready, Sending, Sent). ``missing`` is accepted minus stored: any
other value than 0 is a message the gateway answered for and then lost.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from channels_app.status import Status

FINAL = (Status.DELIVERED, Status.READ, Status.FAILED, Status.CANCELLED)
PENDING = (Status.SCHEDULED, Status.READY, Status.SENDING, Status.SENT)


def message_accounting(customer_id: uuid.UUID, accepted: int, *, first_hops_only: bool = False) -> dict[str, Any]:
    from bench.scenarios.common import status_counts

    filters: dict[str, Any] = {"failover_position__in": [0]} if first_hops_only else {}
    counts = status_counts(customer_id, **filters)
    stored = sum(counts.values())
    final = sum(counts.get(s, 0) for s in FINAL)
    pending = sum(counts.get(s, 0) for s in PENDING)
    return {
        "accepted": accepted,
        "stored": stored,
        "final": final,
        "pending": pending,
        "missing": accepted - stored,
        "by_status": counts,
    }


def settle(customer_id: uuid.UUID, *, timeout: float, interval: float = 0.5) -> None:
    """Wait (bounded) until no message of the customer is Ready, Sending or Sent any more, or the
    count stops moving: a run that ended with messages in flight accounts for them settled."""
    from bench.scenarios.common import status_counts

    deadline = time.monotonic() + timeout
    previous, still = -1, 0
    while time.monotonic() < deadline:
        counts = status_counts(customer_id)
        pending = sum(counts.get(s, 0) for s in PENDING)
        if pending == 0:
            return
        still = still + 1 if pending == previous else 0
        if still >= 6:  # three seconds without progress: held back on purpose, or stuck
            return
        previous = pending
        time.sleep(interval)
