"""Conversations between a traffic account's agent and its users, created on first contact."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils import timezone

from accounts_app.models import TrafficAccount
from channels_app import queries
from channels_app.models import Conversation, Participant
from gateway.channels import Channel
from gateway.db import server_cursor

PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})


def _user_is_phone(account: TrafficAccount, user: str) -> bool:
    """Whether ``user`` is a phone number on the account's channel, rather than an app's user id."""
    return account.channel in PHONE_CHANNELS or (account.channel == Channel.VIBER and user.startswith("+"))


def _user_participant(conversation_id: uuid.UUID, account: TrafficAccount, user: str, name: str = "") -> Participant:
    is_phone = _user_is_phone(account, user)
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


@dataclass(frozen=True)
class OpenConversation:
    conversation: Conversation
    participants: list[Participant]  # agent first, as the Chat API lists them


def conversation_open(*, account: TrafficAccount, user: str, user_name: str = "") -> OpenConversation:
    """The conversation for (account, user) with its participants, created on first contact.

    A concurrent first contact for the same user makes our insert wait for theirs and then find
    nothing in our snapshot; the statement is simply run again and finds their conversation.
    """
    for _ in range(3):
        planned_id = uuid.uuid4()
        agent = _agent_participant(planned_id, account)
        visitor = _user_participant(planned_id, account, user, user_name)
        found = queries.conversation_create_or_find(
            planned_id=planned_id, account=account, user=user, now=timezone.now(), agent=agent, visitor=visitor
        )
        if found is None:
            continue
        conversation, participants = found
        if participants is None:
            return OpenConversation(conversation=conversation, participants=[agent, visitor])
        participants.sort(key=lambda p: p.role)
        return OpenConversation(conversation=conversation, participants=participants)
    raise RuntimeError(f"conversation for {account.id}/{user} neither created nor found")


def conversation_get_or_create(*, account: TrafficAccount, user: str, user_name: str = "") -> Conversation:
    """The conversation for (account, user), created with both participants on first contact."""
    return conversation_open(account=account, user=user, user_name=user_name).conversation


def conversations_for_many(*, account: TrafficAccount, users: list[str]) -> dict[str, str]:
    """Conversation ids (as text) for many users at once (sendbulk), whatever their number: one
    statement creates the missing conversations, one finds the others, one COPY writes the new
    conversations' participants.

    A conversation another request created meanwhile counts as found (ON CONFLICT DO NOTHING:
    that request writes its participants). Users go in sorted, so two bulks sharing users wait
    for each other in the same order instead of deadlocking.
    """
    unique = sorted(set(users))
    with server_cursor() as cursor:
        created = queries.conversations_create_many(cursor, account_id=account.id, now=timezone.now(), users=unique)
        found = dict(created)
        if len(created) < len(unique):
            missing = [u for u in unique if u not in created]
            found.update(queries.conversations_find_many(cursor, account_id=account.id, users=missing))
        if created:
            placeholder = uuid.UUID(int=0)  # ids are given per row
            queries.participants_copy(
                cursor,
                agent=_agent_participant(placeholder, account),
                visitor=_user_participant(placeholder, account, ""),
                created=created,
                user_is_phone=lambda user: _user_is_phone(account, user),
            )
    return found
