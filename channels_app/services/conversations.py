"""Conversations between a traffic account's agent and its users, created on first contact."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from accounts_app.models import TrafficAccount
from channels_app.adapters.base import Channel
from channels_app.models import Conversation, Participant

PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})


def _user_participant(conversation_id: uuid.UUID, account: TrafficAccount, user: str, name: str = "") -> Participant:
    is_phone = account.channel in PHONE_CHANNELS or (account.channel == Channel.VIBER and user.startswith("+"))
    return Participant(
        conversation_id=conversation_id,
        role=Participant.USER,
        name=name,
        phone_number=user if is_phone else "",
        messaging_app_identifier="" if is_phone else user,
    )


def _agent_participant(conversation_id: uuid.UUID, account: TrafficAccount) -> Participant:
    return Participant(
        conversation_id=conversation_id,
        role=Participant.AGENT,
        name=account.display_name or account.name,
        phone_number=account.phone_number,
        messaging_app_identifier="" if account.phone_number else account.agent_identifier,
    )


def conversation_get_or_create(*, account: TrafficAccount, user: str, user_name: str = "") -> Conversation:
    """The conversation for (account, user), created with both participants on first contact."""
    conversation = (
        Conversation.objects.filter(traffic_account=account, user_identifier=user)
        .prefetch_related("participants")
        .first()
    )
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(traffic_account=account, user_identifier=user)
            Participant.objects.bulk_create(
                [
                    _agent_participant(conversation.id, account),
                    _user_participant(conversation.id, account, user, user_name),
                ]
            )
            return conversation
    except IntegrityError:
        # Another request created it between our read and our insert.
        return Conversation.objects.get(traffic_account=account, user_identifier=user)


def conversations_for_many(*, account: TrafficAccount, users: list[str]) -> dict[str, uuid.UUID]:
    """Conversation ids for many users at once (sendbulk): two queries and two batched inserts,
    however many users, instead of a round trip per destination."""
    unique_users = list(dict.fromkeys(users))
    existing = dict(
        Conversation.objects.filter(traffic_account=account, user_identifier__in=unique_users).values_list(
            "user_identifier", "id"
        )
    )
    missing = [u for u in unique_users if u not in existing]
    if missing:
        planned = {user: uuid.uuid4() for user in missing}
        Conversation.objects.bulk_create(
            [Conversation(id=cid, traffic_account=account, user_identifier=user) for user, cid in planned.items()],
            batch_size=5000,
            ignore_conflicts=True,
        )
        stored = dict(
            Conversation.objects.filter(traffic_account=account, user_identifier__in=missing).values_list(
                "user_identifier", "id"
            )
        )
        created = [(user, cid) for user, cid in stored.items() if planned[user] == cid]
        Participant.objects.bulk_create(
            [
                p
                for user, cid in created
                for p in (_agent_participant(cid, account), _user_participant(cid, account, user))
            ],
            batch_size=5000,
        )
        existing.update(stored)
    return existing
