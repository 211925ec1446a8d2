"""Accept messages: validate, persist (the Message row is the outbox), enqueue after commit."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions, status

from accounts_app.models import Customer
from channels_app import queries
from channels_app.content import normalise_destination
from channels_app.models import Message, MessageEvent, Participant
from channels_app.services.conversations import conversation_open, conversations_for_many
from channels_app.services.requests import Hop, SendPlan, destination_for, send_plan
from channels_app.status import Status
from gateway import metrics
from gateway.db import insert_together, server_cursor, uuid4_texts
from gateway.problems import ProblemException
from gateway.request_context import note_message_origins

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BulkResult:
    """An accepted bulk: the destinations as the client wrote them, in its order, and per hop the
    message id for each of them (a chain is named after its first hop's message). Columns rather
    than an object per destination: a 100,000-destination answer is a few lists."""

    bulk_id: uuid.UUID
    traffic_account_id: uuid.UUID
    destinations: list[str]
    hop_message_ids: list[list[str]]


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
        is_test=plan.test or hop.account.test_mode,
        reference=plan.tags.reference,
        metadata=plan.tags.metadata,
        failover_chain_id=chain_id,
        failover_position=index if chain_id else None,
        failover_wanted_status=failover.wanted_status if failover else "",
        failover_timeout_seconds=failover.timeout_seconds if failover else None,
        failover_deadline=(
            now + timedelta(seconds=failover.timeout_seconds) if first and has_next and failover else None
        ),
        triggered_at=now if first else None,
        available_at=now if first else None,
        queued_until=now + timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS) if first else None,
        created_at=now,
        updated_at=now,
    )


def _first_event(message: Message, now: datetime) -> MessageEvent:
    return MessageEvent(message_id=message.id, status=message.status, occurred_at=now, source="api")


def _enqueue_after_commit(message_ids: list[uuid.UUID], *, traffic_account_id: uuid.UUID | None = None) -> None:
    from channels_app.services.dispatch_queue import enqueue_dispatch, enqueue_dispatch_soon

    if not message_ids:
        return
    # A single send joins others (of any account) for one publish; a bulk is already chunked.
    # Tasks name their messages' account, so a worker takes its permit before claiming.
    if len(message_ids) == 1:
        def publish() -> None:
            note_message_origins(message_ids)
            enqueue_dispatch_soon(message_ids, traffic_account_id)

        transaction.on_commit(publish)
    else:
        transaction.on_commit(lambda: enqueue_dispatch(message_ids, traffic_account_id=traffic_account_id))


def _observe_after_commit(per_channel: Counter[str], traffic_account_id: uuid.UUID, **fields: object) -> None:
    """Count and log what was accepted, once it is committed (a rollback accepted nothing)."""

    def observe() -> None:
        for channel, count in per_channel.items():
            metrics.messages_accepted(channel, count)
        structlog.contextvars.bind_contextvars(traffic_account_id=str(traffic_account_id))
        log.info("accepted", **fields)

    transaction.on_commit(observe)


@dataclass(frozen=True)
class Accepted:
    """The hops of one accepted send in chain order (the first is Ready), and the participants of
    the first hop's conversation, which the response shows."""

    messages: list[Message]
    participants: list[Participant]


def message_send(*, customer: Customer, payload: Mapping[str, Any]) -> Accepted:
    """Accept one message (or one failover chain).

    One conversation statement per hop, then every message and its first history event in a
    single statement: a plain send costs two round trips inside its transaction.
    """
    plan = send_plan(customer=customer, payload=payload)
    destinations = [destination_for(hop.account, payload.get("destination")) for hop in plan.hops]
    now = timezone.now()
    chain_id = uuid.uuid4() if plan.failover else None
    with transaction.atomic():
        messages = []
        opened = []
        for index, (hop, destination) in enumerate(zip(plan.hops, destinations, strict=True)):
            conversation = conversation_open(account=hop.account, user=destination)
            opened.append(conversation)
            messages.append(
                _new_hop(
                    customer=customer,
                    plan=plan,
                    index=index,
                    hop=hop,
                    destination=destination,
                    conversation_id=conversation.conversation.id,
                    chain_id=chain_id,
                    bulk_id=None,
                    now=now,
                )
            )
        insert_together(messages, [_first_event(m, now) for m in messages])
        _enqueue_after_commit([messages[0].id], traffic_account_id=messages[0].traffic_account_id)
        _observe_after_commit(
            Counter(m.channel for m in messages),
            messages[0].traffic_account_id,
            message_ids=[str(m.id) for m in messages],
        )
    # The caller renders these: hand over what is already known instead of fetching it again.
    for message, hop, conversation in zip(messages, plan.hops, opened, strict=True):
        message.traffic_account = hop.account
        message.conversation = conversation.conversation
    return Accepted(messages=messages, participants=opened[0].participants)


def _bulk_destinations(payload: Mapping[str, Any]) -> list[Any]:
    if not isinstance(payload, Mapping):
        raise exceptions.ValidationError({"$": ["The request body must be a JSON object."]})
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


def _bulk_normalised(plan: SendPlan, raw_destinations: list[Any]) -> list[list[str]]:
    """Per hop, every destination in its channel's canonical form (hops on one channel share the
    list). Any invalid one refuses the whole bulk, with the index of each, at most 1,000 listed."""
    by_channel: dict[tuple[str, str], list[str]] = {}
    errors: dict[str, Any] = {}
    for hop in plan.hops:
        key = (hop.account.channel, hop.account.viber_kind)
        if key in by_channel:
            continue
        normalised = []
        for index, value in enumerate(raw_destinations):
            try:
                normalised.append(normalise_destination(key[0], value, viber_kind=key[1]))
            except exceptions.ValidationError as exc:
                errors.setdefault(f"destinations[{index}]", exc.detail)
                normalised.append("")
        by_channel[key] = normalised
    if errors:
        bad = len(errors)
        listed = dict(list(errors.items())[:1000])
        raise exceptions.ValidationError(listed if bad <= 1000 else {**listed, "destinations": [f"{bad} are invalid."]})
    return [by_channel[(hop.account.channel, hop.account.viber_kind)] for hop in plan.hops]


def message_send_bulk(*, customer: Customer, payload: Mapping[str, Any]) -> BulkResult:
    """Accept one message per destination (one chain each with failover).

    All-or-nothing: a bulk with invalid destinations is refused whole, with the index of every bad
    one, so a client never has to work out which part of its list was taken, and everything is
    written in one transaction. Rows go in with COPY, rendered from one template message per hop
    (see ``queries.messages_copy``), a block at a time: the cost per destination is a line of text, and
    memory holds a block of lines rather than a model instance per message. Dispatch is enqueued
    in chunks once committed.
    """
    raw_destinations = _bulk_destinations(payload)
    plan = send_plan(customer=customer, payload=payload)
    per_hop = _bulk_normalised(plan, raw_destinations)
    bulk_id = uuid.uuid4()
    now = timezone.now()
    hop_ids = [uuid4_texts(len(raw_destinations)) for _ in plan.hops]
    chain_ids = hop_ids[0] if plan.failover else None
    # Stands for the per-row values (id, conversation, chain) in the templates.
    placeholder = uuid.UUID(int=0)
    with transaction.atomic(), server_cursor() as cursor:
        for index, hop in enumerate(plan.hops):
            template = _new_hop(
                customer=customer,
                plan=plan,
                index=index,
                hop=hop,
                destination="",
                conversation_id=placeholder,
                chain_id=placeholder if plan.failover else None,
                bulk_id=bulk_id,
                now=now,
            )
            queries.messages_copy(
                cursor,
                template,
                ids=hop_ids[index],
                destinations=per_hop[index],
                conversations=conversations_for_many(account=hop.account, users=per_hop[index]),
                chain_ids=chain_ids,
            )
            queries.events_copy(cursor, _first_event(template, now), message_ids=hop_ids[index])
        # The ids as COPY wrote them (UUID texts): the queue writes every id as text either way.
        _enqueue_after_commit(cast(list[uuid.UUID], hop_ids[0]), traffic_account_id=plan.hops[0].account.id)
        _observe_after_commit(
            Counter({hop.account.channel: len(raw_destinations) for hop in plan.hops}),
            plan.hops[0].account.id,
            bulk_id=str(bulk_id),
            destinations=len(raw_destinations),
        )
    return BulkResult(
        bulk_id=bulk_id,
        traffic_account_id=plan.hops[0].account.id,
        destinations=[str(value) for value in raw_destinations],
        hop_message_ids=hop_ids,
    )
