"""Turn message events into webhook deliveries, inside the transaction that caused them.

The receivers run within ``message_transition``'s transaction, so the delivery rows (the outbox)
commit or roll back with the status change itself: a status a customer can read through the API
always has its webhook events, and a rolled-back change never announces anything. Publishing
waits for the commit; if it is lost, the sweeper publishes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels_app.models import Conversation, Message
from channels_app.representations import iso
from channels_app.status import Status
from webhooks_app.models import WebhookDelivery
from webhooks_app.selectors import webhook_ids_for_event
from webhooks_app.services.publishing import enqueue_deliveries, republish_guard
from webhooks_app.services.subscription_cache import account_may_subscribe

USER_MESSAGE = "UserMessage"
# Message statuses that are customer triggers, by the Chat API's name for each.
STATUS_TRIGGERS = {Status.DELIVERED: "Delivered", Status.FAILED: "Failed", Status.READ: "Read"}


def event_payload(*, message: Message, event_type: str, occurred_at: datetime) -> dict[str, Any]:
    """The event body without its id (each webhook gets its own event id)."""
    failed = event_type == STATUS_TRIGGERS[Status.FAILED]
    payload: dict[str, Any] = {
        "eventType": event_type,
        "occurredAt": iso(occurred_at),
        "messageId": str(message.id),
        "trafficAccountId": str(message.traffic_account_id),
        "conversationId": str(message.conversation_id),
        "channel": message.channel,
        "deliveryStatus": message.status,
        "destination": message.destination,
        "error": {"code": message.error_code, "text": message.error_text} if failed else None,
        "createdAt": iso(message.created_at),
        "reference": message.reference or None,
        "metadata": message.metadata,
    }
    if message.billing:
        payload["billing"] = message.billing
    if event_type == USER_MESSAGE:
        payload["from"] = (
            Conversation.objects.filter(id=message.conversation_id).values_list("user_identifier", flat=True).first()
        )
        payload["content"] = message.content
    return payload


def webhook_deliveries_create(*, message: Message, event_type: str, occurred_at: datetime) -> list[WebhookDelivery]:
    """One pending delivery per subscribed webhook, published after the surrounding commit."""
    if not account_may_subscribe(traffic_account_id=message.traffic_account_id, trigger=event_type):
        return []
    webhook_ids = webhook_ids_for_event(traffic_account_id=message.traffic_account_id, trigger=event_type)
    if not webhook_ids:
        return []
    base = event_payload(message=message, event_type=event_type, occurred_at=occurred_at)
    now = timezone.now()
    guard = republish_guard(now)
    deliveries = []
    for webhook_id in webhook_ids:
        event_id = uuid.uuid4()
        deliveries.append(
            WebhookDelivery(
                id=event_id,
                webhook_id=webhook_id,
                event_type=event_type,
                message_id=message.id,
                payload={"eventId": str(event_id), **base},
                next_attempt_at=now,
                queued_until=guard,
            )
        )
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = [d.id for d in deliveries]
    transaction.on_commit(lambda: enqueue_deliveries(ids))
    return deliveries


def on_message_status_changed(
    sender: object, *, message: Message, status: str, occurred_at: datetime, **_: Any
) -> None:
    event_type = STATUS_TRIGGERS.get(status)
    if event_type is not None:
        webhook_deliveries_create(message=message, event_type=event_type, occurred_at=occurred_at)


def on_inbound_message_received(sender: object, *, message: Message, **_: Any) -> None:
    webhook_deliveries_create(message=message, event_type=USER_MESSAGE, occurred_at=message.created_at)
