"""The statements of channels_app that the ORM does not write: each one here, with why it is raw.

Services call these functions instead of holding SQL of their own (docs/decisions/raw-sql.md).
The generic machinery (COPY, multi-row inserts, instances from rows) is ``gateway.db``. Rules:
table and column names come from our models or from constants of this module, every value is a
bound parameter, and a statement run for a customer's request is limited to rows that request
may see (an id the caller already scoped, or a token issued for that one row).

Not yet here: the status moves in ``services/transitions.py`` and the failover trigger and sweep
in ``services/failover.py``, which are being reworked on their own.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model
from psycopg.types.json import Jsonb

from accounts_app.models import Customer, TrafficAccount
from channels_app.models import Conversation, DispatchAttempt, Message, MessageEvent, Participant, ReportInbox
from channels_app.status import Status
from gateway.db import (
    NULL,
    copy_escape,
    copy_lines,
    copy_text,
    model_from_values,
    models_from_row,
    row_layout,
    select_list,
    uuid4_texts,
)

# ---------------------------------------------------------------------------------------------
# Active owners


def account_and_customer_active(message_ref: str) -> str:
    """A SQL condition on the message row ``message_ref`` (a table name or alias of ours) that
    holds while its traffic account and its customer are both active: two primary-key lookups.

    Raw because it is a fragment of the raw statements below (claim, recheck, failover trigger);
    the ORM would need a compiled subquery per use."""
    return (
        f"EXISTS (SELECT 1 FROM {TrafficAccount._meta.db_table} active_account"  # noqa: S608
        f" JOIN {Customer._meta.db_table} active_customer ON active_customer.id = active_account.customer_id"
        f" WHERE active_account.id = {message_ref}.traffic_account_id"
        " AND active_account.is_active AND active_customer.is_active)"
    )


_ACCOUNT_ACTIVE_SQL = (
    f"SELECT {account_and_customer_active('m')} FROM (SELECT %s::uuid AS traffic_account_id) m"  # noqa: S608
)


def account_and_customer_are_active(traffic_account_id: uuid.UUID) -> bool:
    """Whether the account and its customer are both active: the same condition the claim holds
    messages to, evaluated alone mid-chunk (the same SQL, so the two cannot disagree)."""
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNT_ACTIVE_SQL, [traffic_account_id])
        return bool(cursor.fetchone()[0])


# ---------------------------------------------------------------------------------------------
# Dispatch: the claim and the recheck before each retry

# Messages of a deactivated traffic account or customer are not claimed (services/deactivation.py
# cancels them). `status || ''` is deliberate: a plain `status = 'Ready'` matches the partial index
# msg_ready_due, and with statistics that undercount Ready rows (right after any large bulk) the
# planner scans every due message for each chunk instead of fetching the chunk's ids by primary
# key. The expression cannot use an index (test_query_plans reads the plan).
def _message_with_account(row: Sequence[Any]) -> Message:
    message, account = models_from_row(row, Message, TrafficAccount)
    message = cast(Message, message)
    message.traffic_account = cast(TrafficAccount, account)
    return message


# `status || ''` is deliberate: a plain `status = 'Ready'` matches the partial index msg_ready_due,
# and with statistics that undercount Ready rows (right after any large bulk) the planner scans
# every due message for each chunk instead of fetching the chunk's ids by primary key. A chunk that
# holds its account's permit claims only that account's messages (the optional account parameter).
# The account is not joined: its row, credentials decrypted, is loaded once per chunk
# (_CLAIM_ACCOUNTS_SQL) instead of once per message.
CLAIM_SQL = (
    f"WITH claimed AS (UPDATE {Message._meta.db_table}"  # noqa: S608
    " SET status = %s, claimed_at = %s, attempts = attempts + 1, updated_at = %s, claimed_by = %s"
    " WHERE id = ANY(%s) AND (status || '') = %s AND (available_at IS NULL OR available_at <= %s)"
    " AND (%s::uuid IS NULL OR traffic_account_id = %s::uuid)"
    f" AND {account_and_customer_active(Message._meta.db_table)}"
    " RETURNING *)"
    f" SELECT {select_list((Message, 'claimed'))} FROM claimed"
)
_CLAIM_ACCOUNTS_SQL = (
    f"SELECT {select_list((TrafficAccount, 'a'))} FROM {TrafficAccount._meta.db_table} a"  # noqa: S608
    " WHERE a.id = ANY(%s)"
)


def messages_claim(
    message_ids: list[uuid.UUID], *, worker_id: str, now: datetime, traffic_account_id: uuid.UUID | None = None
) -> list[Message]:
    """``Ready -> Sending`` for the given messages still Ready and due (only ``traffic_account_id``'s
    when given), as the claim left them, each with its account: one object per account, loaded
    once for the chunk. Raw: the conditional UPDATE and the read of what it claimed are one
    statement (the ORM's ``update`` returns a count), and compiling ``select_related`` for every
    chunk cost a third of a worker's CPU."""
    claim: list[Any] = [Status.SENDING, now, now, worker_id, list(message_ids), Status.READY, now]
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [*claim, traffic_account_id, traffic_account_id])
        messages = [model_from_values(Message, row) for row in cursor.fetchall()]
        if not messages:
            return []
        cursor.execute(_CLAIM_ACCOUNTS_SQL, [list({m.traffic_account_id for m in messages})])
        accounts = {a.id: a for a in (model_from_values(TrafficAccount, row) for row in cursor.fetchall())}
    for message in messages:
        message.traffic_account = accounts[message.traffic_account_id]
    return messages


_CLAIM_STATE_SQL = (
    f"SELECT m.status, m.provider_message_id, {account_and_customer_active('m')}"  # noqa: S608
    f" FROM {Message._meta.db_table} m WHERE m.id = %s"
)
_CLAIM_RELEASE_SQL = (
    f"UPDATE {Message._meta.db_table} SET status = %s, claimed_at = NULL, queued_until = NULL,"  # noqa: S608
    " available_at = now(), attempts = GREATEST(attempts - 1, 0), updated_at = now()"
    " WHERE id = %s AND status = %s"
)
_CLAIM_FORGET_SQL = f"UPDATE {Message._meta.db_table} SET claimed_at = NULL WHERE id = %s"  # noqa: S608


def claim_state(message_id: uuid.UUID) -> tuple[str, str, bool] | None:
    """(status, provider id, account and customer active) of a claimed message, None when it is
    gone. Raw: the activity condition is the claim's own SQL fragment, in the same read."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_STATE_SQL, [message_id])
        return cursor.fetchone()


def claim_release(message_id: uuid.UUID) -> None:
    """A claimed message back to Ready and due now, the attempt its claim counted taken back.
    Raw: runs on every refused retry of a chunk, a fixed statement instead of a compiled one."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_RELEASE_SQL, [Status.READY, message_id, Status.SENDING])


def claim_forget(message_id: uuid.UUID) -> None:
    """Drop the claim mark of a message something else moved on (its status stays)."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_FORGET_SQL, [message_id])


# ---------------------------------------------------------------------------------------------
# Delivery reports

_REPORTED_MESSAGE_SQL = (
    f"SELECT {select_list((Message, 'm'), (TrafficAccount, 'a'))} FROM {Message._meta.db_table} m"  # noqa: S608
    f" JOIN {TrafficAccount._meta.db_table} a ON a.id = m.traffic_account_id"
    " WHERE m.id = %s AND m.direction = %s"
)


def outbound_message_with_account(message_id: uuid.UUID) -> Message | None:
    """The outbound message ``message_id`` with its account attached, deactivated or not. Scoped by
    the id a callback token was issued for. Raw: one fixed statement per delivery report instead
    of compiling ``select_related`` for each."""
    with connection.cursor() as cursor:
        cursor.execute(_REPORTED_MESSAGE_SQL, [message_id, Message.OUTBOUND])
        row = cursor.fetchone()
    return None if row is None else _message_with_account(row)


# ---------------------------------------------------------------------------------------------
# Deactivation


def _cancel_sql(owner_column: str) -> str:
    """The move to Cancelled and its history events in one statement (``owner_column`` is one of
    two constants below)."""
    return (
        f"WITH cancelled AS (UPDATE {Message._meta.db_table} SET status = %(cancelled)s,"  # noqa: S608
        " updated_at = %(now)s, queued_until = NULL, claimed_at = NULL, rate_slot_at = NULL"
        f" WHERE {owner_column} = %(owner)s"
        " AND direction = %(outbound)s AND status = ANY(%(cancellable)s::varchar[]) RETURNING id)"
        f" INSERT INTO {MessageEvent._meta.db_table} (message_id, status, occurred_at, source, detail)"
        " SELECT id, %(cancelled)s, %(now)s, 'deactivation', %(detail)s FROM cancelled RETURNING message_id"
    )


_CANCEL_OF_CUSTOMER_SQL = _cancel_sql("customer_id")
_CANCEL_OF_TRAFFIC_ACCOUNT_SQL = _cancel_sql("traffic_account_id")


def pending_messages_cancel(
    *,
    statuses: list[str],
    reason: str,
    now: datetime,
    customer_id: uuid.UUID | None = None,
    traffic_account_id: uuid.UUID | None = None,
) -> int:
    """Cancel the owner's outbound messages in ``statuses``, each with a history event; returns
    how many. Raw: an UPDATE whose moved rows feed an INSERT, a data-modifying CTE the ORM cannot
    express, so a cancellation of any size is one statement."""
    if (customer_id is None) == (traffic_account_id is None):
        raise ValueError("Name exactly one of customer_id and traffic_account_id.")
    params: dict[str, Any] = {
        "cancelled": Status.CANCELLED,
        "now": now,
        "owner": customer_id or traffic_account_id,
        "outbound": Message.OUTBOUND,
        "cancellable": statuses,
        "detail": Jsonb({"reason": reason}),
    }
    with connection.cursor() as cursor:
        cursor.execute(_CANCEL_OF_CUSTOMER_SQL if customer_id else _CANCEL_OF_TRAFFIC_ACCOUNT_SQL, params)
        return len(cursor.fetchall())


# ---------------------------------------------------------------------------------------------
# Conversations

# One round trip for the common case (first contact creates, later contacts find): insert the
# conversation unless it exists, insert both participants only if it was inserted, and return
# either the new id or the existing conversation with its participants. The final SELECT reads
# the statement's snapshot, so it sees an existing conversation but not the rows inserted here
# (those the caller already holds).
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

_CONVERSATION_FIELDS = [
    "id", "traffic_account_id", "user_identifier", "user_reachable", "created_at", "last_message_at"
]


def conversation_create_or_find(
    *,
    planned_id: uuid.UUID,
    account: TrafficAccount,
    user: str,
    now: datetime,
    agent: Participant,
    visitor: Participant,
) -> tuple[Conversation, list[Participant] | None] | None:
    """The conversation (account, user), created as ``planned_id`` with ``agent`` and ``visitor``
    unless it exists. Returns it with the stored participants when it existed, with None when
    this statement created it, and None alone when a concurrent first contact holds it but is not
    in this statement's snapshot (run again). Raw: an INSERT ... ON CONFLICT whose result decides
    the participants' INSERT and a read of the existing rows, all in one round trip."""
    params: dict[str, Any] = {"id": planned_id, "account": account.id, "user": user, "now": now}
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
        return None
    conversation_id, reachable, created_at, last_message_at = rows[0][:4]
    conversation = model_from_values(
        Conversation,
        (conversation_id, account.id, user, reachable, created_at, last_message_at),
        attnames=_CONVERSATION_FIELDS,
    )
    conversation.traffic_account = account
    if rows[0][4] is None:
        return conversation, None
    participants = [
        Participant(
            id=pid, conversation_id=conversation_id, role=role, name=name, phone_number=phone,
            messaging_app_identifier=app,
        )
        for *_, pid, role, name, phone, app in rows
    ]
    return conversation, participants


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


def conversations_create_many(
    cursor: CursorWrapper, *, account_id: uuid.UUID, now: datetime, users: list[str]
) -> dict[str, str]:
    """Create the account's conversations with ``users`` that do not exist; user -> new id (text).
    Raw: INSERT ... ON CONFLICT DO NOTHING RETURNING over an array bound once, on a server-binding
    cursor (``%b``), so 100,000 users are one parameter, not 100,000 quoted values."""
    cursor.execute(_CREATE_MANY_SQL, (account_id, now, users))
    return dict(cursor.fetchall())


def conversations_find_many(cursor: CursorWrapper, *, account_id: uuid.UUID, users: list[str]) -> dict[str, str]:
    """The account's existing conversations with ``users``: user -> id (text). Raw for the same
    array parameter as ``conversations_create_many``."""
    cursor.execute(_FIND_MANY_SQL, (account_id, users))
    return dict(cursor.fetchall())


# Participant columns given per row; the rest (role, name) is the same for every row of a role.
_PARTICIPANT_LEADING = ["id", "conversation_id", "phone_number", "messaging_app_identifier"]


def participants_copy(
    cursor: CursorWrapper,
    *,
    agent: Participant,
    visitor: Participant,
    created: Mapping[str, str],
    user_is_phone: Callable[[str], bool],
) -> None:
    """COPY both participants of each new conversation (user -> conversation id), the agent as
    ``agent`` and the user as ``visitor`` with its contact set per row (a phone number when
    ``user_is_phone``, else an app identifier). Raw: COPY, for sendbulk's many new conversations."""
    columns, agent_tail = row_layout(agent, _PARTICIPANT_LEADING)
    _, user_tail = row_layout(visitor, _PARTICIPANT_LEADING)
    agent_contact = f"{copy_text(agent.phone_number)}\t{copy_text(agent.messaging_app_identifier)}"
    ids = iter(uuid4_texts(2 * len(created)))

    def lines() -> Iterator[str]:
        for user, conversation_id in created.items():
            text = copy_escape(user)
            contact = f"{text}\t" if user_is_phone(user) else f"\t{text}"
            yield f"{next(ids)}\t{conversation_id}\t{agent_contact}{agent_tail}"
            yield f"{next(ids)}\t{conversation_id}\t{contact}{user_tail}"

    copy_lines(cursor, Participant._meta.db_table, columns, lines())


# ---------------------------------------------------------------------------------------------
# Sendbulk: a hop's messages and their first events with COPY
#
# Everything but a message's id, destination, conversation and chain is the same for every message
# of one hop, so each hop is described by one template instance built the way a single send builds
# its hops; a row adds the per-destination values to the template's rendered tail. Ids are text:
# they come from ``uuid4_texts`` and from the database as text.

_MESSAGE_LEADING = ["id", "destination", "conversation_id", "failover_chain_id"]
_EVENT_LEADING = ["message_id"]


def messages_copy(
    cursor: CursorWrapper,
    template: Message,
    *,
    ids: list[str],
    destinations: list[str],
    conversations: Mapping[str, str],
    chain_ids: list[str] | None,
) -> None:
    """COPY one hop's messages, one per destination, as ``template`` with the per-row values.

    ``conversations`` maps each destination to its conversation id; ``chain_ids`` are the first
    hops' ids (each chain is named after its first message), None without failover. Raw: COPY,
    a line of text per message instead of a model instance and a quoted INSERT row."""
    columns, tail = row_layout(template, _MESSAGE_LEADING)
    chains = chain_ids if chain_ids is not None else [NULL] * len(ids)

    def lines() -> Iterator[str]:
        for message_id, destination, chain_id in zip(ids, destinations, chains, strict=True):
            yield f"{message_id}\t{copy_escape(destination)}\t{conversations[destination]}\t{chain_id}{tail}"

    copy_lines(cursor, Message._meta.db_table, columns, lines())


def events_copy(cursor: CursorWrapper, template: MessageEvent, *, message_ids: list[str]) -> None:
    """COPY the first history event of each message, as ``template`` for each id. Raw: COPY."""
    columns, tail = row_layout(template, _EVENT_LEADING)
    copy_lines(cursor, MessageEvent._meta.db_table, columns, (f"{message_id}{tail}" for message_id in message_ids))


# ---------------------------------------------------------------------------------------------
# Staff dashboard: delivery over time

# The timestamps behind each counted kind, in the order the dashboard draws them. Kinds and
# columns are written into the statement: they are these constants only.
TIMELINE_KIND_COLUMNS = {
    "accepted": "triggered_at",
    "sent": "sent_at",
    "delivered": "delivered_at",
    "read": "read_at",
    "failed": "failed_at",
}


def timeline_bucket_counts(
    base_sql: str, base_params: Sequence[Any], start: datetime, end: datetime, bucket: timedelta
) -> list[tuple[Any, ...]]:
    """(grouping, channel, account, kind, bucket start, count) over the messages of ``base_sql``
    (an ORM queryset's compiled SQL, holding the customer scope, with ``base_params``). Raw:
    ``date_bin``, a LATERAL VALUES unpivot and GROUPING SETS in one pass over the window."""
    kinds = ", ".join(f"('{kind}', m.{column})" for kind, column in TIMELINE_KIND_COLUMNS.items())
    sql = (
        "SELECT GROUPING(channel, traffic_account_id), channel, traffic_account_id, kind, bucket, count(*)"  # noqa: S608
        " FROM (SELECT m.channel, m.traffic_account_id, e.kind, date_bin(%s::interval, e.at, %s) AS bucket"
        f" FROM ({base_sql}) m CROSS JOIN LATERAL (VALUES {kinds}) AS e(kind, at)"
        " WHERE e.at >= %s AND e.at < %s) events"
        " GROUP BY GROUPING SETS ((kind, bucket), (channel, kind, bucket), (channel, traffic_account_id, kind, bucket))"
    )
    with connection.cursor() as cursor:
        # psycopg adapts a timedelta to an interval; the stubs leave it out of the parameter types.
        cursor.execute(sql, [bucket, start, *base_params, start, end])  # type: ignore[list-item]
        return cursor.fetchall()


def timeline_summaries(
    base_sql: str, base_params: Sequence[Any], channels_without_receipts: Sequence[str]
) -> list[tuple[Any, ...]]:
    """(grouping, channel, account, accepted, with receipts, delivered, failed, failover hops, p95
    seconds to Delivered) over the messages of ``base_sql``. Raw: GROUPING SETS with
    ``percentile_cont``, so a channel's p95 is a real percentile of its messages."""
    sql = (
        "SELECT GROUPING(channel, traffic_account_id), channel, traffic_account_id,"  # noqa: S608
        " count(*), count(*) FILTER (WHERE channel <> ALL(%s::varchar[])),"
        " count(delivered_at), count(failed_at), count(*) FILTER (WHERE failover_position > 0),"
        " percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - triggered_at))"
        f" FROM ({base_sql}) m"
        " GROUP BY GROUPING SETS ((), (channel), (channel, traffic_account_id))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(channels_without_receipts), *base_params])
        return cursor.fetchall()


# ---------------------------------------------------------------------------------------------
# Retention of provider bodies in the attempt log

_EXPIRE_BODIES_SQL = (
    f"WITH batch AS (SELECT id, started_at FROM {DispatchAttempt._meta.db_table}"  # noqa: S608
    " WHERE id > %s ORDER BY id LIMIT %s),"
    f" emptied AS (UPDATE {DispatchAttempt._meta.db_table} t SET request = '{{}}'::jsonb, response = NULL"
    " FROM batch WHERE t.id = batch.id AND batch.started_at < %s"
    " AND (t.request <> '{}'::jsonb OR t.response IS NOT NULL) RETURNING t.id)"
    " SELECT (SELECT count(*) FROM emptied),"
    " (SELECT max(id) FROM batch WHERE started_at < %s),"
    " (SELECT count(*) FROM batch WHERE started_at >= %s)"
)


def attempt_bodies_expire_batch(*, after_id: int, batch: int, cutoff: datetime) -> tuple[int, int | None, int]:
    """Empty the bodies of the attempts older than ``cutoff`` among the ``batch`` after
    ``after_id``: (how many were emptied, the last old id of the batch, how many of the batch are
    younger). Raw: one statement reads the batch, updates it and reports where the walk stands."""
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_BODIES_SQL, [after_id, batch, cutoff, cutoff, cutoff])
        emptied, last_old_id, younger = cursor.fetchone()
    return emptied, last_old_id, younger


# ---- report inbox (services/report_inbox.py, services/report_drain.py) ----

# Table names are ours; every value is a parameter. No row: the message is unknown, not an
# outbound SMS, or the token's generation was revoked (the view then finds out which).
_STORE_SQL = (
    f"INSERT INTO {ReportInbox._meta.db_table} (traffic_account_id, message_id, status, provider_message_id,"  # noqa: S608
    " error_code, error_text, billing, raw, occurred_at, received_at, attempts, last_error)"
    " SELECT m.traffic_account_id, m.id, %s, %s, %s, %s, %s, %s, %s, %s, 0, ''"
    f" FROM {Message._meta.db_table} m JOIN {TrafficAccount._meta.db_table} a ON a.id = m.traffic_account_id"
    " WHERE m.id = %s AND m.direction = %s AND a.channel = %s AND a.callback_token_generation = %s"
    " RETURNING traffic_account_id"
)


# A /smsbulk report names the message only by the provider's id, in one of the spellings Mitto
# uses: the account's message that stored one of them is the one it is about (the partial index
# on (traffic_account, provider_message_id) finds it); its stored spelling goes into the inbox.
_STORE_BY_PROVIDER_ID_SQL = (
    f"INSERT INTO {ReportInbox._meta.db_table} (traffic_account_id, message_id, status, provider_message_id,"  # noqa: S608
    " error_code, error_text, billing, raw, occurred_at, received_at, attempts, last_error)"
    " SELECT m.traffic_account_id, m.id, %s, m.provider_message_id, %s, %s, %s, %s, %s, %s, 0, ''"
    f" FROM {Message._meta.db_table} m JOIN {TrafficAccount._meta.db_table} a ON a.id = m.traffic_account_id"
    " WHERE m.traffic_account_id = %s AND m.provider_message_id = ANY(%s) AND m.provider_message_id <> ''"
    " AND m.direction = %s AND a.channel = %s AND a.callback_token_generation = %s"
    " LIMIT 1 RETURNING message_id"
)


def report_inbox_insert_by_provider_id(params: list[Any]) -> uuid.UUID | None:
    """A ``/smsbulk`` delivery report into the inbox, matched by the provider's id within its
    account; the message id, or ``None`` when no stored message has that id yet (or the token's
    generation was revoked). Raw for the same reason as ``report_inbox_insert``."""
    with connection.cursor() as cursor:
        cursor.execute(_STORE_BY_PROVIDER_ID_SQL, params)
        row = cursor.fetchone()
    return row[0] if row else None


def report_inbox_insert(params: list[Any]) -> uuid.UUID | None:
    """One delivery report into the inbox, if its message and token generation check out; the
    traffic account id, or ``None``. Raw: the existence, ownership and revocation checks and the
    insert are one statement, so acknowledging a report costs one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(_STORE_SQL, params)
        row = cursor.fetchone()
    return row[0] if row else None


# Every column a report can change. Values are the final ones of the batch; the status
# condition makes the write lose to anything that moved the message since it was loaded.
# The table name is ours; every value is a parameter.
_MOVE_SQL = (
    f"UPDATE {Message._meta.db_table} m SET status = v.status, updated_at = v.updated_at,"  # noqa: S608
    " sent_at = v.sent_at, delivered_at = v.delivered_at, read_at = v.read_at, failed_at = v.failed_at,"
    " error_code = v.error_code, error_text = v.error_text, billing = v.billing::jsonb"
    " FROM (SELECT unnest(%s::uuid[]) AS id, unnest(%s::text[]) AS loaded_status, unnest(%s::text[]) AS status,"
    " unnest(%s::timestamptz[]) AS updated_at, unnest(%s::timestamptz[]) AS sent_at,"
    " unnest(%s::timestamptz[]) AS delivered_at, unnest(%s::timestamptz[]) AS read_at,"
    " unnest(%s::timestamptz[]) AS failed_at, unnest(%s::text[]) AS error_code, unnest(%s::text[]) AS error_text,"
    " unnest(%s::text[]) AS billing) v"
    " WHERE m.id = v.id AND m.status = v.loaded_status RETURNING m.id"
)


def messages_move_guarded(params: list[Any]) -> set[uuid.UUID]:
    """Many status moves in one statement, each guarded by the status its message was loaded
    with; the ids it moved. Raw: an UPDATE from unnested arrays, which the ORM cannot express."""
    with connection.cursor() as cursor:
        cursor.execute(_MOVE_SQL, params)
        return {row[0] for row in cursor.fetchall()}


# ---- status transitions (services/transitions.py) ----


@functools.cache
def move_with_event_sql(field_names: tuple[str, ...], event_names: tuple[str, ...]) -> str:
    """The statement for one set of changed fields (only a handful exist, so each is built once).

    Table and column names are ours; every value is a parameter. The planner must go by
    ``id = %s``: no index of the table can be matched by the status condition (test_reports
    reads the plan with stale statistics).
    """
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(_field(Message, name).column)} = %s" for name in field_names)
    columns = ", ".join(quote(_field(MessageEvent, name).column) for name in event_names)
    placeholders = ", ".join(["%s"] * len(event_names))
    return (
        f"WITH moved AS (UPDATE {Message._meta.db_table} SET {assignments}"  # noqa: S608
        " WHERE id = %s AND status = ANY(%s::varchar[]) RETURNING id)"
        f" INSERT INTO {MessageEvent._meta.db_table} (message_id, {columns})"
        f" SELECT id, {placeholders} FROM moved RETURNING message_id"
    )


def _field(model: type[Model], name: str) -> Field:
    """A concrete field by name (get_field's declared type also covers relations and generic keys)."""
    return cast(Field, model._meta.get_field(name))


def _prepared(model: type[Model], values: dict[str, Any]) -> list[Any]:
    return [_field(model, name).get_db_prep_save(value, connection) for name, value in values.items()]


def message_move_with_event(
    message_id: Any, candidates: list[str], fields: dict[str, Any], event: dict[str, Any]
) -> bool:
    """The conditional UPDATE and, only when it moved the row, the history INSERT: one round trip
    instead of two, and no query compilation on the hottest write of report ingest."""
    params = [*_prepared(Message, fields), message_id, candidates, *_prepared(MessageEvent, event)]
    with connection.cursor() as cursor:
        cursor.execute(move_with_event_sql(tuple(fields), tuple(event)), params)
        return cursor.fetchone() is not None


# The table name is ours; every value is a parameter.
MARK_SENT_SQL = (
    f"UPDATE {Message._meta.db_table} m SET status = %s, sent_at = v.sent_at, provider_message_id = v.pid,"  # noqa: S608
    " claimed_at = NULL, rate_slot_at = NULL, error_code = '', error_text = '', updated_at = %s"
    " FROM (SELECT unnest(%s::uuid[]) AS id, unnest(%s::text[]) AS pid, unnest(%s::timestamptz[]) AS sent_at) v"
    " WHERE m.id = v.id AND m.status = %s RETURNING m.id"
)
_KEEP_PROVIDER_ID_SQL = (
    f"UPDATE {Message._meta.db_table} m SET provider_message_id = v.pid, claimed_at = NULL"  # noqa: S608
    " FROM (SELECT unnest(%s::uuid[]) AS id, unnest(%s::text[]) AS pid) v"
    " WHERE m.id = v.id AND m.provider_message_id = ''"
)


def messages_mark_sent_rows(params: list[Any]) -> set[uuid.UUID]:
    """``Sending -> Sent`` with each message's provider id and time, from arrays; the ids that
    moved. Raw: an UPDATE from unnested arrays, which the ORM cannot express."""
    with connection.cursor() as cursor:
        cursor.execute(MARK_SENT_SQL, params)
        return {row[0] for row in cursor.fetchall()}


def provider_ids_keep(ids: list[str], provider_ids: list[str]) -> None:
    """Record the provider ids of messages a fast report moved on before their Sent was
    recorded (only where none is stored). Raw for the same reason."""
    with connection.cursor() as cursor:
        cursor.execute(_KEEP_PROVIDER_ID_SQL, [ids, provider_ids])


# ---- failover (services/failover.py) ----

_MESSAGES = Message._meta.db_table

# Triggering sets the hop Ready if it is still Scheduled and its account and customer are active
# (a deactivated one's hops are cancelled by services/deactivation.py), gives it a deadline of its own when
# another hop follows, and writes its history event, all in the caller's one statement.
# Table names are ours; every value is a parameter.
_FAILOVER_TRIGGER_CTES = (
    f"triggered AS (UPDATE {_MESSAGES} m SET status = %(ready)s, triggered_at = %(now)s, available_at = %(now)s,"  # noqa: S608
    " queued_until = %(republish)s, updated_at = %(now)s,"
    f" failover_deadline = CASE WHEN EXISTS (SELECT 1 FROM {_MESSAGES} n"
    "   WHERE n.failover_chain_id = m.failover_chain_id AND n.failover_position = m.failover_position + 1)"
    "   THEN %(now)s + make_interval(secs => m.failover_timeout_seconds) ELSE NULL END"
    " FROM next WHERE m.failover_chain_id = next.chain_id AND m.failover_position = next.position"
    f" AND m.status = %(scheduled)s AND {account_and_customer_active('m')} RETURNING m.id),"
    f" events AS (INSERT INTO {MessageEvent._meta.db_table} (message_id, status, occurred_at, source, detail)"
    " SELECT id, %(ready)s, %(now)s, 'failover', %(detail)s FROM triggered)"
)

_FAILOVER_TRIGGER_SQL = (
    "WITH next AS (SELECT unnest(%(chains)s::uuid[]) AS chain_id, unnest(%(positions)s::int[]) AS position), "  # noqa: S608
    + _FAILOVER_TRIGGER_CTES
    + " SELECT id FROM triggered"
)

# One statement per batch of due deadlines: claim them (clearing the deadline under the row lock,
# so a report arriving later sees the hop already handed over), keep the hops that have not
# reached their wanted status (pairs of wanted and satisfying statuses are parameters, from
# ``satisfies``), and trigger the hop after each. The claim's FOR UPDATE SKIP LOCKED lets any
# number of sweepers run; the trigger's status condition makes each hop fire at most once.
_FAILOVER_SWEEP_SQL = (
    f"WITH due AS (SELECT id, failover_deadline FROM {Message._meta.db_table}"  # noqa: S608
    " WHERE failover_deadline IS NOT NULL AND failover_deadline <= %(now)s"
    " ORDER BY failover_deadline LIMIT %(batch)s FOR UPDATE SKIP LOCKED),"
    f" claimed AS (UPDATE {Message._meta.db_table} m SET failover_deadline = NULL FROM due WHERE m.id = due.id"
    " RETURNING m.failover_chain_id, m.failover_position, m.status, m.failover_wanted_status,"
    " due.failover_deadline AS deadline),"
    " next AS (SELECT c.failover_chain_id AS chain_id, c.failover_position + 1 AS position, c.deadline"
    " FROM claimed c"
    " WHERE NOT EXISTS (SELECT 1 FROM unnest(%(wanted)s::text[], %(reached)s::text[]) AS ok(wanted, reached)"
    "   WHERE ok.wanted = COALESCE(NULLIF(c.failover_wanted_status, ''), %(delivered)s) AND ok.reached = c.status)),"
    f" {_FAILOVER_TRIGGER_CTES}"
    " SELECT (SELECT count(*) FROM claimed), ARRAY(SELECT id FROM triggered),"
    " ARRAY(SELECT EXTRACT(EPOCH FROM %(now)s - deadline)::float8 FROM next)"
)


def failover_hops_trigger(params: dict[str, Any]) -> list[uuid.UUID]:
    """Trigger the (chain, position) hops named in ``params``; the ids triggered. Raw: the
    conditional UPDATE, the deadline of the next hop and the history INSERT are one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_FAILOVER_TRIGGER_SQL, params)
        return [row[0] for row in cursor.fetchall()]


def failover_deadlines_sweep(params: dict[str, Any]) -> tuple[int, list[uuid.UUID], list[float]]:
    """Claim a batch of due deadlines and trigger the hops after them: (claimed, triggered ids,
    lateness of each in seconds). Raw: claim, check and trigger are one statement (see above)."""
    with connection.cursor() as cursor:
        cursor.execute(_FAILOVER_SWEEP_SQL, params)
        claimed, triggered, lags = cursor.fetchone()
    return claimed, triggered, lags
