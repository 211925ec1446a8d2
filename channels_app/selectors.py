"""Reads of messages, always scoped to the authenticated customer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from rest_framework import exceptions

from accounts_app.models import Customer
from channels_app.models import Message, MessageEvent, Participant
from channels_app.status_filter import delivery_status_q


def _not_found(message_id: Any) -> exceptions.NotFound:
    return exceptions.NotFound(f"Message {message_id} does not exist.")


def message_get(*, customer: Customer, message_id: Any) -> Message:
    """A customer's message with what its representation needs; another customer's id is 404."""
    try:
        message_uuid = uuid.UUID(str(message_id))
    except ValueError as exc:
        raise _not_found(message_id) from exc
    message = (
        Message.objects.filter(customer=customer, id=message_uuid)
        .select_related("traffic_account", "conversation")
        .prefetch_related(
            Prefetch("conversation__participants", queryset=Participant.objects.order_by("role")),
            Prefetch("events", queryset=MessageEvent.objects.order_by("id")),
        )
        .first()
    )
    if message is None:
        raise _not_found(message_id)
    return message


def failover_hops(*, message: Message) -> list[Message]:
    if message.failover_chain_id is None:
        return []
    return list(
        Message.objects.filter(customer_id=message.customer_id, failover_chain_id=message.failover_chain_id)
        .order_by("failover_position")
        .only("id", "traffic_account_id", "channel", "status", "failover_position", "triggered_at", "error_code")
    )


def message_list(
    *,
    customer: Customer,
    traffic_account_id: uuid.UUID | None = None,
    status: str | None = None,  # a canonical value of channels_app.status_filter
    destination: str | None = None,
    bulk_id: uuid.UUID | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    reference: str | None = None,
) -> QuerySet[Message]:
    messages = Message.objects.filter(customer=customer).select_related("traffic_account", "conversation")
    if traffic_account_id:
        messages = messages.filter(traffic_account_id=traffic_account_id)
    if status:
        messages = messages.filter(delivery_status_q(status))
    if destination:
        messages = messages.filter(destination=destination)
    if bulk_id:
        messages = messages.filter(bulk_id=bulk_id)
    if reference:
        messages = messages.filter(reference=reference)
    if created_after:
        messages = messages.filter(created_at__gte=created_after)
    if created_before:
        messages = messages.filter(created_at__lt=created_before)
    return messages.prefetch_related(
        Prefetch("conversation__participants", queryset=Participant.objects.order_by("role"))
    )


def bulk_progress(*, customer: Customer, bulk_id: uuid.UUID | str) -> dict[str, int]:
    counts = dict(
        Message.objects.filter(customer=customer, bulk_id=bulk_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    if not counts:
        raise exceptions.NotFound(f"Bulk {bulk_id} does not exist.")
    return counts
