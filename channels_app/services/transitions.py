"""Apply a status change to a message, enforcing the state machine in ``channels_app.status``.

Every change is a conditional UPDATE (``WHERE status IN (...)``), so two workers or a duplicate
provider report racing on one message cannot both win; only the winner appends the history event,
lets failover react (``failover_after_status_change``, in the same transaction) and then announces
the change on ``message_status_changed`` for the layers above (customer webhooks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels_app import queries
from channels_app.models import Message, MessageEvent
from channels_app.services import failover
from channels_app.signals import message_status_changed
from channels_app.status import Status, report_applies
from gateway.db import insert_together

_TIMESTAMP_FIELD = {
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.READ: "read_at",
    Status.FAILED: "failed_at",
}
_ALL = [value for value, _ in Status.CHOICES]


def allowed_from(reported: str) -> list[str]:
    """The current statuses from which a report of ``reported`` is applied."""
    return [current for current in _ALL if report_applies(current, reported)]


def message_transition(
    *,
    message: Message,
    status: str,
    source: str,
    occurred_at: datetime | None = None,
    from_statuses: list[str] | None = None,
    error_code: str = "",
    error_text: str = "",
    detail: dict[str, Any] | None = None,
    extra_fields: dict[str, Any] | None = None,
) -> bool:
    """Move ``message`` to ``status`` if it is currently in ``from_statuses`` (default: wherever
    the state machine allows a report of ``status``). Returns whether it moved."""
    occurred_at = occurred_at or timezone.now()
    candidates = from_statuses if from_statuses is not None else allowed_from(status)
    if not candidates:
        return False
    fields, event_detail = transition_changes(
        message=message, status=status, occurred_at=occurred_at, error_code=error_code, error_text=error_text,
        detail=detail, extra_fields=extra_fields,
    )
    event = {"status": status, "occurred_at": occurred_at, "source": source, "detail": event_detail}
    # The move and its event are one statement; the block is only there so that failover's and the
    # listeners' writes commit or roll back with them. No savepoint: nothing inside is meant to fail alone.
    with transaction.atomic(savepoint=False):
        if not queries.message_move_with_event(message.id, candidates, fields, event):
            return False
        for name, value in fields.items():
            setattr(message, name, value)
        status_changed(message=message, status=status, occurred_at=occurred_at)
    return True


def status_changed(*, message: Message, status: str, occurred_at: datetime) -> None:
    """What follows a move, inside its transaction: failover (called here, not through a signal, so
    a reader of this module sees it), then the signal the layers above listen to (customer
    webhooks). Every path that moves a message's status calls this: one message here, and the
    batched report moves of ``services.report_drain``."""
    failover.failover_after_status_change(message=message, status=status)
    message_status_changed.send(sender=Message, message=message, status=status, occurred_at=occurred_at)


def transition_changes(
    *,
    message: Message,
    status: str,
    occurred_at: datetime,
    error_code: str = "",
    error_text: str = "",
    detail: dict[str, Any] | None = None,
    extra_fields: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields a move of ``message`` to ``status`` writes and the detail of its history event:
    one rule for the move of one message here and the batched moves of ``services.report_drain``."""
    fields: dict[str, Any] = {"status": status, "updated_at": timezone.now(), **(extra_fields or {})}
    if status in _TIMESTAMP_FIELD:
        fields[_TIMESTAMP_FIELD[status]] = occurred_at
    if status == Status.FAILED:
        fields["error_code"] = error_code[:64]
        fields["error_text"] = error_text
    # A read implies delivery: keep the delivery time when a provider skips that report.
    if status == Status.READ and message.delivered_at is None:
        fields["delivered_at"] = occurred_at
    event_detail = dict(detail or {})
    if error_code or error_text:
        event_detail.update({"errorCode": error_code, "errorText": error_text})
    return fields, event_detail


def messages_mark_sent(*, accepted: list[tuple[Message, str, datetime]]) -> int:
    """``Sending -> Sent`` for many messages in three statements, with the same rules as
    ``message_transition``: only claimed messages move, each move appends its event, lets failover
    react and is announced. A message a fast report already moved on keeps that status and gets its provider id.
    """
    if not accepted:
        return 0
    now = timezone.now()
    ids = [str(m.id) for m, _, _ in accepted]
    provider_ids = [pid[:191] for _, pid, _ in accepted]
    with transaction.atomic():
        moved = queries.messages_mark_sent_rows(
            [Status.SENT, now, ids, provider_ids, [t for _, _, t in accepted], Status.SENDING]
        )
        overtaken = [(i, p) for (m, p, _), i in zip(accepted, ids, strict=True) if m.id not in moved]
        if overtaken:
            queries.provider_ids_keep([i for i, _ in overtaken], [p for _, p in overtaken])
        insert_together(
            [
                MessageEvent(
                    message_id=m.id,
                    status=Status.SENT,
                    occurred_at=t,
                    source="dispatch",
                    detail={"providerMessageId": pid},
                )
                for m, pid, t in accepted
                if m.id in moved
            ]
        )
        for message, pid, sent_at in accepted:
            if message.id in moved:
                message.status, message.provider_message_id, message.sent_at = Status.SENT, pid, sent_at
                failover.failover_after_status_change(message=message, status=Status.SENT)
                message_status_changed.send(sender=Message, message=message, status=Status.SENT, occurred_at=sent_at)
    return len(moved)
