"""The message status vocabulary and its state machine, in one place.

Spelling follows the Chat API (``Ready``, ``Sent``, ``Delivered``, ``Read``, ``Failed``).

::

    Scheduled --trigger--> Ready --claim--> Sending --provider accepted--> Sent --> Delivered --> Read
        |                    ^                 |                              \\         \\
        |                    +---retry---------+                               +--> Failed (terminal*)
        +--cancel--> Cancelled (failover chain already satisfied)

* ``Scheduled``: a failover backup hop that has not been triggered. The Chat API guide
  (docs/chat-api.md) calls triggering "the status Created"; a message whose ``triggered_at`` is
  still empty was never Created and is purged after 60 days.
* ``Ready``: accepted and queued for dispatch (what ``Message/send`` answers, as in the Chat API guide).
* ``Sending``: claimed by exactly one worker; a lease lets the sweeper recover a killed worker.
* Provider reports only move a message forward by rank. ``Failed`` is terminal, except that
  WhatsApp may report ``Delivered``/``Read`` after ``Failed`` on multi-device users: the better
  state is kept (docs/providers.md, Common).
* ``Received``: an inbound user message.
"""

from __future__ import annotations


class Status:
    SCHEDULED = "Scheduled"
    READY = "Ready"
    SENDING = "Sending"
    SENT = "Sent"
    DELIVERED = "Delivered"
    READ = "Read"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    RECEIVED = "Received"

    CHOICES = [
        (SCHEDULED, SCHEDULED),
        (READY, READY),
        (SENDING, SENDING),
        (SENT, SENT),
        (DELIVERED, DELIVERED),
        (READ, READ),
        (FAILED, FAILED),
        (CANCELLED, CANCELLED),
        (RECEIVED, RECEIVED),
    ]


# Progress rank of outbound statuses. A report applies only when it ranks higher.
RANK: dict[str, int] = {
    Status.SCHEDULED: 0,
    Status.READY: 1,
    Status.SENDING: 2,
    Status.SENT: 3,
    Status.DELIVERED: 4,
    Status.READ: 5,
}

# Statuses a provider report may set.
REPORTABLE = frozenset({Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED})
# Statuses a failover chain may wait for.
FAILOVER_WANTED = frozenset({Status.SENT, Status.DELIVERED, Status.READ})


def report_applies(current: str, reported: str) -> bool:
    """Whether a provider report moves a message from ``current`` to ``reported``.

    Late and duplicate reports (``Sent`` after ``Delivered``, ``Delivered`` twice) change nothing.
    """
    if reported not in REPORTABLE or current in (Status.CANCELLED, Status.RECEIVED, Status.SCHEDULED):
        return False
    if reported == Status.FAILED:
        return current in (Status.READY, Status.SENDING, Status.SENT)
    if current == Status.FAILED:
        # Multi-device WhatsApp users: a delivery after a failure is real; keep the better state.
        return reported in (Status.DELIVERED, Status.READ)
    return RANK[reported] > RANK.get(current, 0)


def satisfies(current: str, wanted: str) -> bool:
    """Whether ``current`` has reached ``wanted`` or beyond (``Read`` satisfies ``Delivered``)."""
    if current in (Status.FAILED, Status.CANCELLED) or current not in RANK:
        return False
    return RANK[current] >= RANK[wanted]
