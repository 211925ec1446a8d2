"""The hot dispatch updates find their rows by primary key even when statistics are stale.

Right after a large bulk, PostgreSQL's statistics still say almost nothing is Ready or Sending.
A statement that filters on ``status = 'Sending'`` next to the ids could then be planned as a
scan of a status index, which reads every in-flight message for each chunk: the pipeline slows
down as it fills up. These tests reproduce the stale statistics and read the plans.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from channels_app.models import Conversation, Message
from channels_app.queries import CLAIM_SQL, MARK_SENT_SQL
from channels_app.status import Status
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db


def _messages(account, count: int, status: str) -> list[Message]:
    now = timezone.now()
    conversation, _ = Conversation.objects.get_or_create(traffic_account=account, user_identifier="+41790000000")
    return Message.objects.bulk_create(
        [
            Message(
                customer=account.customer,
                traffic_account=account,
                conversation=conversation,
                channel="sms",
                direction=Message.OUTBOUND,
                destination=f"+417900{index:05d}",
                content={"text": "hi"},
                status=status,
                available_at=now,
                claimed_at=now if status == Status.SENDING else None,
            )
            for index in range(count)
        ]
    )


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def stale_statistics():
    """Statistics taken while everything was Delivered, then a burst the planner does not know of."""
    account = TrafficAccountFactory(channel="sms")
    _messages(account, 12_000, Status.DELIVERED)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")
    return account


def test_marking_a_batch_sent_goes_by_primary_key(stale_statistics):
    sending = _messages(stale_statistics, 200, Status.SENDING)[:25]
    now = timezone.now()

    plan = _plan(
        MARK_SENT_SQL,
        [Status.SENT, now, [str(m.id) for m in sending], ["pid"] * 25, [now] * 25, Status.SENDING],
    )

    assert "channels_app_message_pkey" in plan, plan


def test_claiming_a_chunk_goes_by_primary_key(stale_statistics):
    ready = _messages(stale_statistics, 200, Status.READY)[:25]
    now = timezone.now()

    account = ready[0].traffic_account_id  # a chunk claims only its account's messages
    claim = [Status.SENDING, now, now, "worker-1", [m.id for m in ready], Status.READY, now, account, account]

    plan = _plan(CLAIM_SQL, claim)

    assert "channels_app_message_pkey" in plan, plan


def test_a_single_status_guarded_update_goes_by_primary_key(stale_statistics):
    _messages(stale_statistics, 200, Status.SENDING)
    query = Message.objects.filter(id=uuid.uuid4(), status=Status.SENDING)

    with connection.cursor() as cursor:
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "channels_app_message_pkey" in plan, plan
