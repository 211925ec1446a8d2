"""Accept messages: validate, persist (the Message row is the outbox), enqueue after commit."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions, status

from accounts_app.models import Customer
from channels_app.models import Message, MessageEvent
from channels_app.services.conversations import conversation_get_or_create, conversations_for_many
from channels_app.services.requests import Hop, SendPlan, destination_for, send_plan
from channels_app.status import Status
from gateway.problems import ProblemException


@dataclass(frozen=True)
class BulkEntry:
    destination: str
    traffic_account_id: uuid.UUID
    message_ids: list[uuid.UUID]


@dataclass(frozen=True)
class BulkResult:
    bulk_id: uuid.UUID
    entries: list[BulkEntry]


def _new_hop(
    *,
    customer: Customer,
    plan: SendPlan,
    index: int,
    hop: Hop,
    destination: str,
    conversation_id: uuid.UUID,
    chain_id: uuid.UUID | None,
    bulk_id: uuid.UUID | None,
    now: datetime,
) -> Message:
    first = index == 0
    failover = plan.failover
    has_next = failover is not None and index < len(plan.hops) - 1
    message_id = chain_id if first and chain_id else uuid.uuid4()
    return Message(
        id=message_id,
        customer=customer,
        traffic_account=hop.account,
        conversation_id=conversation_id,
        channel=hop.account.channel,
        direction=Message.OUTBOUND,
        destination=destination,
        content=hop.content,
        status=Status.READY if first else Status.SCHEDULED,
        bulk_id=bulk_id,
        sms_encoding=hop.sms_encoding,
        sms_segments=hop.sms_segments,
        failover_chain_id=chain_id,
        failover_position=index if chain_id else None,
        failover_wanted_status=failover.wanted_status if failover else "",
        failover_timeout_seconds=failover.timeout_seconds if failover else None,
        failover_deadline=now + timedelta(seconds=failover.timeout_seconds) if first and has_next else None,
        triggered_at=now if first else None,
        available_at=now if first else None,
        queued_until=now + timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS) if first else None,
        created_at=now,
        updated_at=now,
    )


def _first_event(message: Message, now: datetime) -> MessageEvent:
    return MessageEvent(message_id=message.id, status=message.status, occurred_at=now, source="api")


def _enqueue_after_commit(message_ids: list[uuid.UUID]) -> None:
    from channels_app.services.dispatch_queue import enqueue_dispatch

    if message_ids:
        transaction.on_commit(lambda: enqueue_dispatch(message_ids))


def message_send(*, customer: Customer, payload: Mapping[str, Any]) -> list[Message]:
    """Accept one message (or one failover chain): the hops in chain order, the first Ready."""
    plan = send_plan(customer=customer, payload=payload)
    destinations = [destination_for(hop.account.channel, payload.get("destination")) for hop in plan.hops]
    now = timezone.now()
    chain_id = uuid.uuid4() if plan.failover else None
    with transaction.atomic():
        messages = []
        conversations = []
        for index, (hop, destination) in enumerate(zip(plan.hops, destinations, strict=True)):
            conversation = conversation_get_or_create(account=hop.account, user=destination)
            conversations.append(conversation)
            messages.append(
                _new_hop(
                    customer=customer,
                    plan=plan,
                    index=index,
                    hop=hop,
                    destination=destination,
                    conversation_id=conversation.id,
                    chain_id=chain_id,
                    bulk_id=None,
                    now=now,
                )
            )
        Message.objects.bulk_create(messages)
        MessageEvent.objects.bulk_create([_first_event(m, now) for m in messages])
        _enqueue_after_commit([messages[0].id])
    # The caller renders these: hand over what is already loaded instead of fetching it again.
    for message, hop, conversation in zip(messages, plan.hops, conversations, strict=True):
        message.traffic_account = hop.account
        message.conversation = conversation
    return messages


def _bulk_destinations(payload: Mapping[str, Any]) -> list[Any]:
    destinations = payload.get("destinations")
    if not isinstance(destinations, list) or not destinations:
        raise exceptions.ValidationError({"destinations": ["A non-empty list of destinations is required."]})
    limit = settings.SENDBULK_MAX_DESTINATIONS
    if len(destinations) > limit:
        raise ProblemException(
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            problem_type="too-many-destinations",
            detail=f"A bulk takes at most {limit} destinations; this one has {len(destinations)}. Split it.",
            extra={"maxDestinations": limit},
        )
    return destinations


def message_send_bulk(*, customer: Customer, payload: Mapping[str, Any]) -> BulkResult:
    """Accept one message per destination (one chain each with failover).

    All-or-nothing: a bulk with invalid destinations is refused whole, with the index of every bad
    one, so a client never has to work out which part of its list was taken. Writes are batched
    inserts and dispatch is enqueued in chunks: the cost per destination is a few microseconds,
    never a database or broker round trip.
    """
    raw_destinations = _bulk_destinations(payload)
    plan = send_plan(customer=customer, payload=payload)
    per_hop: list[list[str]] = []
    errors: dict[str, Any] = {}
    for hop in plan.hops:
        normalised = []
        for index, value in enumerate(raw_destinations):
            try:
                normalised.append(destination_for(hop.account.channel, value, path="x"))
            except exceptions.ValidationError as exc:
                errors.setdefault(f"destinations[{index}]", exc.detail["x"])
                normalised.append("")
        per_hop.append(normalised)
    if errors:
        bad = len(errors)
        listed = dict(list(errors.items())[:1000])
        raise exceptions.ValidationError(listed if bad <= 1000 else {**listed, "destinations": [f"{bad} are invalid."]})

    bulk_id = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        conversations = [
            conversations_for_many(account=hop.account, users=per_hop[i]) for i, hop in enumerate(plan.hops)
        ]
        messages: list[Message] = []
        entries: list[BulkEntry] = []
        first_ids: list[uuid.UUID] = []
        for d_index, raw in enumerate(raw_destinations):
            chain_id = uuid.uuid4() if plan.failover else None
            hop_ids = []
            for h_index, hop in enumerate(plan.hops):
                destination = per_hop[h_index][d_index]
                message = _new_hop(
                    customer=customer,
                    plan=plan,
                    index=h_index,
                    hop=hop,
                    destination=destination,
                    conversation_id=conversations[h_index][destination],
                    chain_id=chain_id,
                    bulk_id=bulk_id,
                    now=now,
                )
                messages.append(message)
                hop_ids.append(message.id)
            first_ids.append(hop_ids[0])
            entries.append(
                BulkEntry(destination=str(raw), traffic_account_id=plan.hops[0].account.id, message_ids=hop_ids)
            )
        Message.objects.bulk_create(messages, batch_size=2000)
        MessageEvent.objects.bulk_create([_first_event(m, now) for m in messages], batch_size=5000)
        _enqueue_after_commit(first_ids)
    return BulkResult(bulk_id=bulk_id, entries=entries)
