"""Which statuses each channel's provider ever reports, so a request can be refused when it waits
for one that will never come.

A failover hop waits for its wanted status until its deadline; on a channel whose provider never
reports that status (Telegram bots get no receipts at all, Mitto SMS has no read receipt) every
such chain would fail over, always, after the full timeout. That is a mistake in the request, so
it is refused when the request is accepted instead of costing a second message on every send.
"""

from __future__ import annotations

from channels_app.providers.registry import SPECS
from channels_app.status import Status

# Beyond ``Sent`` and ``Failed``, which every channel reaches; declared by each provider package.
REPORTED_STATUSES: dict[str, frozenset[str]] = {channel: spec.reported_statuses for channel, spec in SPECS.items()}

# A report of the key satisfies a hop waiting for any of the value (``Read`` implies delivery).
_SATISFIED_BY: dict[str, frozenset[str]] = {
    Status.SENT: frozenset({Status.SENT}),
    Status.DELIVERED: frozenset({Status.DELIVERED, Status.READ}),
    Status.READ: frozenset({Status.READ}),
}


def can_reach(channel: str, wanted: str) -> bool:
    """Whether a message on ``channel`` can ever be reported in a status that satisfies ``wanted``."""
    if wanted == Status.SENT:
        return True
    return bool(REPORTED_STATUSES.get(channel, frozenset()) & _SATISFIED_BY.get(wanted, frozenset()))
