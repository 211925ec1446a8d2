"""Apply a status change to a message, enforcing the state machine in ``channels_app.status``.

Every change is a conditional UPDATE (``WHERE status IN (...)``), so two workers or a duplicate
provider report racing on one message cannot both win; only the winner appends the history event
and notifies listeners (failover, customer webhooks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels_app.models import Message, MessageEvent
from channels_app.signals import message_status_changed
from channels_app.status import RANK, Status, report_applies

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
    fields: dict[str, Any] = {"status": status, "updated_at": timezone.now(), **(extra_fields or {})}
    if status in _TIMESTAMP_FIELD:
        fields[_TIMESTAMP_FIELD[status]] = occurred_at
    if status == Status.FAILED:
        fields["error_code"] = error_code[:64]
        fields["error_text"] = error_text
    # A read implies delivery: keep the delivery time when a provider skips that report.
    if status == Status.READ and message.delivered_at is None:
        fields["delivered_at"] = occurred_at
    with transaction.atomic():
        moved = Message.objects.filter(id=message.id, status__in=candidates).update(**fields)
        if not moved:
            return False
        event_detail = dict(detail or {})
        if error_code or error_text:
            event_detail.update({"errorCode": error_code, "errorText": error_text})
        MessageEvent.objects.create(
            message_id=message.id, status=status, occurred_at=occurred_at, source=source, detail=event_detail
        )
        for name, value in fields.items():
            setattr(message, name, value)
        message_status_changed.send(sender=Message, message=message, status=status, occurred_at=occurred_at)
    return True


def outranks(current: str, other: str) -> bool:
    return RANK.get(current, -1) > RANK.get(other, -1)
