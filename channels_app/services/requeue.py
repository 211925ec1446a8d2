"""An operator puts a Failed message back to be dispatched again.

``Failed`` is terminal for providers and workers; only an operator (the admin action) reopens it,
once the cause is fixed (credentials, a provider outage). The move is an ordinary transition
(``Failed -> Ready``), so it is recorded in the message's status history with who asked, and the
message leaves through the normal outbox: a fresh retry budget, published after commit, and the
dispatch sweeper republishes it if that publish is lost.

A failover hop whose next hop has already been triggered is not reopened: the chain moved on,
and sending both would reach the user twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.models import Message
from channels_app.services.dispatch_queue import enqueue_dispatch
from channels_app.services.transitions import message_transition
from channels_app.status import Status


@dataclass
class RequeueResult:
    requeued: list[uuid.UUID] = field(default_factory=list)
    # Message id -> why it was left alone, so the operator sees each refusal.
    refused: dict[uuid.UUID, str] = field(default_factory=dict)


def _refusal(message: Message) -> str | None:
    if message.status != Status.FAILED:
        return f"it is {message.status}; only Failed messages are requeued"
    if message.failover_chain_id is not None:
        later_hop_triggered = Message.objects.filter(
            failover_chain_id=message.failover_chain_id,
            failover_position__gt=message.failover_position,
            triggered_at__isnull=False,
        ).exists()
        if later_hop_triggered:
            return "a later hop of its failover chain was already sent"
    return None


def messages_requeue(*, messages: Iterable[Message], operator: str) -> RequeueResult:
    """Move each Failed message back to Ready (one history event each, ``source="operator"``)
    and enqueue the moved ones for dispatch once the transaction commits."""
    result = RequeueResult()
    now = timezone.now()
    with transaction.atomic():
        for message in messages:
            reason = _refusal(message)
            if reason is None:
                moved = message_transition(
                    message=message,
                    status=Status.READY,
                    source="operator",
                    occurred_at=now,
                    from_statuses=[Status.FAILED],
                    detail={"reason": "requeued", "operator": operator, "previousError": message.error_code},
                    extra_fields={
                        "attempts": 0,
                        "available_at": now,
                        "queued_until": now + timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS),
                        "claimed_at": None,
                        "rate_slot_at": None,
                        "failed_at": None,
                        "error_code": "",
                        "error_text": "",
                    },
                )
                # A report or another operator may have moved it since it was read.
                reason = None if moved else "its status changed meanwhile"
            if reason is None:
                result.requeued.append(message.id)
            else:
                result.refused[message.id] = reason
        if result.requeued:
            ids = list(result.requeued)
            transaction.on_commit(lambda: enqueue_dispatch(ids))
    return result
