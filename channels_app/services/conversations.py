"""Conversations between a traffic account's agent and its users, created on first contact."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts_app.models import TrafficAccount
from channels_app.models import Conversation, Participant
from channels_app.services.copy_insert import (
    copy_escape,
    copy_lines,
    copy_text,
    row_layout,
    server_cursor,
    uuid4_texts,
)
from gateway.channels import Channel

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


_CONVERSATION_FIELDS = [
    "id", "traffic_account_id", "user_identifier", "user_reachable", "created_at", "last_message_at"
]

# One round trip for the common case (first contact creates, later contacts find): insert the
# conversation unless it exists, insert both participants only if it was inserted, and return
# either the new id or the existing conversation with its participants. The final SELECT reads
# the statement's snapshot, so it sees an existing conversation but not the rows inserted here
# (those we already hold). Table names are ours; every value is a parameter.
_OPEN_SQL = f"""
WITH created AS (
    INSERT INTO {Conversation._meta.db_table} (id, traffic_account_id, user_identifier, user_reachable, created_at)
    VALUES (%(id)s, %(account)s, %(user)s, TRUE, %(now)s)
    ON CONFLICT (traffic_account_id, user_identifier) DO NOTHING
    RETURNING id
), participants AS (
    INSERT INTO {Participant._meta.db_table} (id, conversation_id, role, name, phone_number, messaging_app_identifier)
    SELECT p.id, created.id, p.role, p.name, p.phone_number, p.messaging_app_identifier
    FROM created, (VALUES (%(agent_id)s::uuid, %(agent_role)s, %(agent_name)s, %(agent_phone)s, %(agent_app)s),
                          (%(user_id)s::uuid, %(user_role)s, %(user_name)s, %(user_phone)s, %(user_app)s))
         AS p(id, role, name, phone_number, messaging_app_identifier)
)
SELECT id, TRUE, %(now)s, NULL, NULL, NULL, NULL, NULL, NULL FROM created
UNION ALL
SELECT c.id, c.user_reachable, c.created_at, c.last_message_at,
       p.id, p.role, p.name, p.phone_number, p.messaging_app_identifier
FROM {Conversation._meta.db_table} c JOIN {Participant._meta.db_table} p ON p.conversation_id = c.id
WHERE c.traffic_account_id = %(account)s AND c.user_identifier = %(user)s
"""  # noqa: S608


def conversation_open(*, account: TrafficAccount, user: str, user_name: str = "") -> OpenConversation:
    """The conversation for (account, user) with its participants, created on first contact.

    A concurrent first contact for the same user makes our insert wait for theirs and then find
    nothing in our snapshot; the statement is simply run again and finds their conversation.
    """
    for _ in range(3):
        planned_id = uuid.uuid4()
        agent = _agent_participant(planned_id, account)
        visitor = _user_participant(planned_id, account, user, user_name)
        params: dict[str, Any] = {"id": planned_id, "account": account.id, "user": user, "now": timezone.now()}
        for prefix, participant in (("agent", agent), ("user", visitor)):
            params.update(
                {
                    f"{prefix}_id": participant.id,
                    f"{prefix}_role": participant.role,
                    f"{prefix}_name": participant.name,
                    f"{prefix}_phone": participant.phone_number,
                    f"{prefix}_app": participant.messaging_app_identifier,
                }
            )
        with connection.cursor() as cursor:
            cursor.execute(_OPEN_SQL, params)
            rows = cursor.fetchall()
        if not rows:
            continue
        conversation_id, reachable, created_at, last_message_at = rows[0][:4]
        conversation = Conversation.from_db(
            "default",
            _CONVERSATION_FIELDS,
            (conversation_id, account.id, user, reachable, created_at, last_message_at),
        )
        conversation.traffic_account = account
        if rows[0][4] is None:
            return OpenConversation(conversation=conversation, participants=[agent, visitor])
        participants = [
            Participant(
                id=pid, conversation_id=conversation_id, role=role, name=name, phone_number=phone,
                messaging_app_identifier=app,
            )
            for *_, pid, role, name, phone, app in rows
        ]
        participants.sort(key=lambda p: p.role)
        return OpenConversation(conversation=conversation, participants=participants)
    raise RuntimeError(f"conversation for {account.id}/{user} neither created nor found")


def conversation_get_or_create(*, account: TrafficAccount, user: str, user_name: str = "") -> Conversation:
    """The conversation for (account, user), created with both participants on first contact."""
    return conversation_open(account=account, user=user, user_name=user_name).conversation


_CREATE_MANY_SQL = f"""
INSERT INTO {Conversation._meta.db_table} (id, traffic_account_id, user_identifier, user_reachable, created_at)
SELECT gen_random_uuid(), %s, u.identifier, TRUE, %s FROM unnest(%b::text[]) AS u(identifier)
ON CONFLICT (traffic_account_id, user_identifier) DO NOTHING
RETURNING user_identifier, id::text
"""  # noqa: S608
_FIND_MANY_SQL = f"""
SELECT user_identifier, id::text FROM {Conversation._meta.db_table}
WHERE traffic_account_id = %s AND user_identifier = ANY(%b::text[])
"""  # noqa: S608
# Participant columns given per row; the rest (role, name) is the same for every row of a role.
_PARTICIPANT_LEADING = ["id", "conversation_id", "phone_number", "messaging_app_identifier"]


def _participant_rows(account: TrafficAccount, created: dict[str, str]) -> tuple[list[str], Iterator[str]]:
    """COPY columns and lines of both participants of each new conversation (user -> id)."""
    placeholder = uuid.UUID(int=0)  # ids are given per row
    agent = _agent_participant(placeholder, account)
    columns, agent_tail = row_layout(agent, _PARTICIPANT_LEADING)
    _, user_tail = row_layout(_user_participant(placeholder, account, ""), _PARTICIPANT_LEADING)
    agent_contact = f"{copy_text(agent.phone_number)}\t{copy_text(agent.messaging_app_identifier)}"
    ids = iter(uuid4_texts(2 * len(created)))

    def lines() -> Iterator[str]:
        for user, conversation_id in created.items():
            text = copy_escape(user)
            contact = f"{text}\t" if _user_is_phone(account, user) else f"\t{text}"
            yield f"{next(ids)}\t{conversation_id}\t{agent_contact}{agent_tail}"
            yield f"{next(ids)}\t{conversation_id}\t{contact}{user_tail}"

    return columns, lines()


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
        cursor.execute(_CREATE_MANY_SQL, (account.id, timezone.now(), unique))
        created: dict[str, str] = dict(cursor.fetchall())
        found = dict(created)
        if len(created) < len(unique):
            cursor.execute(_FIND_MANY_SQL, (account.id, [u for u in unique if u not in created]))
            found.update(cursor.fetchall())
        if created:
            copy_lines(cursor, Participant._meta.db_table, *_participant_rows(account, created))
    return found
