"""Applying normalised provider events: status rules, two-way messages, reachability, templates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg.types.json import Jsonb

from channels_app.models import Conversation, Message, MessageEvent, WhatsAppTemplate
from channels_app.providers.base import InboundEvent, StatusEvent, UserStateEvent
from channels_app.providers.whatsapp.adapter import TemplateStatusEvent
from channels_app.queries import move_with_event_sql
from channels_app.services.reports import (
    ReportNotYetMatched,
    callback_events_apply,
    inbound_store,
    raw_detail,
    report_apply,
    template_status_apply,
    user_state_apply,
)
from channels_app.services.transitions import allowed_from, message_transition
from channels_app.signals import inbound_message_received, message_status_changed
from channels_app.status import Status
from tests.channels_app.callbacks.helpers import sent_message, statuses
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

AT = datetime(2024, 5, 2, 9, 15, tzinfo=UTC)
MESSAGE_TABLE = Message._meta.db_table
LATER = datetime(2024, 5, 2, 9, 16, tzinfo=UTC)


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="viber")


@pytest.fixture
def message(account):
    return sent_message(account, destination="01234567890A=", provider_message_id="5741311803571721087")


def report(status: str, **fields) -> StatusEvent:
    fields.setdefault("provider_message_id", "5741311803571721087")
    return StatusEvent(status=status, occurred_at=fields.pop("occurred_at", AT), **fields)


def inbound(event_id: str = "4912661846655238145", sender: str = "01234567890A=") -> InboundEvent:
    return InboundEvent(
        provider_event_id=event_id,
        sender=sender,
        content={"type": "text", "text": "hello"},
        sender_name="John McClane",
        occurred_at=AT,
        raw={"event": "message"},
    )


# ---- status rules ---------------------------------------------------------------------------


def test_a_report_moves_the_message_and_records_where_it_came_from(account, message):
    changed = []
    listener = lambda sender, message, status, occurred_at, **kw: changed.append(status)  # noqa: E731
    message_status_changed.connect(listener)
    try:
        moved = report_apply(account=account, event=report(Status.DELIVERED, raw={"event": "delivered"}))
    finally:
        message_status_changed.disconnect(listener)

    assert moved is True
    assert changed == [Status.DELIVERED]
    message.refresh_from_db()
    assert (message.status, message.delivered_at) == (Status.DELIVERED, AT)
    event = MessageEvent.objects.get(message=message)
    assert (event.source, event.occurred_at) == ("provider", AT)
    assert event.detail["raw"] == {"event": "delivered"}
    assert event.detail["providerMessageId"] == "5741311803571721087"


def test_a_duplicate_report_is_a_no_op(account, message):
    assert report_apply(account=account, event=report(Status.DELIVERED)) is True
    assert report_apply(account=account, event=report(Status.DELIVERED)) is False

    assert statuses(message) == [Status.DELIVERED]


def test_reordered_reports_keep_the_furthest_status(account, message):
    report_apply(account=account, event=report(Status.DELIVERED, occurred_at=LATER))
    moved = report_apply(account=account, event=report(Status.SENT, occurred_at=AT))

    assert moved is False
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_read_after_delivered_is_read(account, message):
    report_apply(account=account, event=report(Status.DELIVERED, occurred_at=AT))
    report_apply(account=account, event=report(Status.READ, occurred_at=LATER))

    message.refresh_from_db()
    assert (message.status, message.delivered_at, message.read_at) == (Status.READ, AT, LATER)


def test_read_without_delivered_implies_the_delivery_time(account, message):
    report_apply(account=account, event=report(Status.READ))

    message.refresh_from_db()
    assert (message.status, message.delivered_at) == (Status.READ, AT)


def test_a_failure_keeps_the_providers_code_and_text(account, message):
    report_apply(account=account, event=report(Status.FAILED, error_code="131026", error_text="undeliverable"))

    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_text) == (Status.FAILED, "131026", "undeliverable")
    assert MessageEvent.objects.get(message=message).detail["errorCode"] == "131026"


def test_a_failure_after_delivery_is_ignored(account, message):
    report_apply(account=account, event=report(Status.DELIVERED))

    assert report_apply(account=account, event=report(Status.FAILED, error_code="x")) is False
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_delivered_after_failed_keeps_the_better_state(account, message):
    report_apply(account=account, event=report(Status.FAILED, error_code="131026"))
    report_apply(account=account, event=report(Status.DELIVERED, occurred_at=LATER))

    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert statuses(message) == [Status.FAILED, Status.DELIVERED]


def test_our_own_id_finds_the_message_even_before_its_provider_id_is_stored(account):
    message = sent_message(account, destination="01234567890A=", status=Status.SENDING)

    moved = report_apply(account=account, event=report(Status.DELIVERED, message_id=message.id))

    assert moved is True
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_our_own_id_wins_over_a_provider_id_naming_another_message(account, message):
    other = sent_message(account, destination="01234567890A=", provider_message_id="111")

    report_apply(account=account, event=report(Status.DELIVERED, message_id=other.id))

    other.refresh_from_db()
    message.refresh_from_db()
    assert (other.status, message.status) == (Status.DELIVERED, Status.SENT)


def test_a_report_cannot_reach_another_accounts_message(message):
    stranger = TrafficAccountFactory(channel="viber")

    moved = report_apply(account=stranger, event=report(Status.DELIVERED, message_id=message.id))

    assert moved is False
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_an_unknown_provider_id_while_a_send_is_in_flight_must_be_retried(account):
    sent_message(account, destination="01234567890A=", status=Status.SENDING)

    with pytest.raises(ReportNotYetMatched):
        report_apply(account=account, event=report(Status.DELIVERED, provider_message_id="999"))


def test_an_unknown_report_with_nothing_in_flight_is_ignored(account, message):
    assert report_apply(account=account, event=report(Status.DELIVERED, provider_message_id="999")) is False
    assert report_apply(account=account, event=report(Status.DELIVERED, message_id=uuid.uuid4(),
                                                       provider_message_id="")) is False
    assert MessageEvent.objects.count() == 0


def test_an_inbound_message_id_is_never_reported_on(account):
    inbound_store(account=account, event=inbound(event_id="5741311803571721087"))

    assert report_apply(account=account, event=report(Status.DELIVERED)) is False


@pytest.mark.parametrize("existing", [1, 40])
def test_a_report_costs_one_lookup_more_than_the_transition_itself(account, existing, django_assert_max_num_queries):
    for n in range(existing):
        sent_message(account, destination=f"user-{n}", provider_message_id=f"token-{n}")
    baseline_message = sent_message(account, destination="01234567890A=", provider_message_id="baseline")
    target = sent_message(account, destination="01234567890A=", provider_message_id="target")
    # what a status change costs by itself (conditional UPDATE, history INSERT, listeners)
    with CaptureQueriesContext(connection) as transition_only:
        message_transition(message=baseline_message, status=Status.DELIVERED, source="provider", occurred_at=AT)

    with django_assert_max_num_queries(len(transition_only) + 1):
        moved = report_apply(account=account, event=report(Status.DELIVERED, provider_message_id="target"))

    assert moved is True
    target.refresh_from_db()
    assert target.status == Status.DELIVERED


def test_a_report_about_the_message_its_callback_loaded_is_not_looked_up_again(account, message):
    event = report(Status.DELIVERED, message_id=message.id)

    with CaptureQueriesContext(connection) as queries:
        moved = report_apply(account=account, event=event, reported=message)

    assert moved is True
    assert not any(sql["sql"].startswith("SELECT") and MESSAGE_TABLE in sql["sql"] for sql in queries.captured_queries)
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_a_loaded_message_of_another_account_is_not_taken_for_its_report(account, message):
    stranger = TrafficAccountFactory(channel="viber")

    moved = report_apply(account=stranger, event=report(Status.DELIVERED, message_id=message.id), reported=message)

    assert moved is False
    message.refresh_from_db()
    assert message.status == Status.SENT


def _bulk_messages(account, message: Message, statuses: list[str]) -> list[Message]:
    return Message.objects.bulk_create(
        [
            Message(customer=account.customer, traffic_account=account, conversation_id=message.conversation_id,
                    channel=account.channel, direction=Message.OUTBOUND, destination=message.destination,
                    content={"text": "hi"}, status=status)
            for status in statuses
        ]
    )


@pytest.fixture
def stale_statistics(account, message):
    """Statistics taken while every message was Delivered, then a burst they do not know of."""
    _bulk_messages(account, message, [Status.DELIVERED] * 5000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {MESSAGE_TABLE}")
    return _bulk_messages(account, message, [Status.SENT, Status.SENDING, Status.SCHEDULED, Status.READY] * 100)


@pytest.mark.parametrize(
    ("status", "from_statuses"),
    [
        (Status.DELIVERED, None),
        (Status.READ, None),
        (Status.FAILED, None),
        (Status.SENT, None),
        (Status.FAILED, [Status.SENDING]),
        (Status.CANCELLED, [Status.SCHEDULED]),
    ],
)
def test_a_status_change_goes_by_primary_key_whatever_the_statistics_say(stale_statistics, status, from_statuses):
    fields = {"status": status, "updated_at": AT}
    event = {"status": status, "occurred_at": AT, "source": "provider", "detail": Jsonb({})}
    candidates = from_statuses or allowed_from(status)
    sql = move_with_event_sql(tuple(fields), tuple(event))

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, [*fields.values(), stale_statistics[0].id, candidates, *event.values()])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert f"Index Scan using {MESSAGE_TABLE}_pkey" in plan, plan


def test_raw_detail_keeps_small_payloads_and_only_the_keys_of_big_ones():
    assert raw_detail({"event": "seen"}) == {"event": "seen"}
    big = raw_detail({"event": "seen", "blob": "x" * 5000})
    assert big == {"truncated": True, "keys": ["event", "blob"]}


# ---- two-way messages ---------------------------------------------------------------------


def test_an_inbound_message_creates_its_conversation_and_is_announced(account):
    announced = []
    listener = lambda sender, message, **kw: announced.append(message.id)  # noqa: E731
    inbound_message_received.connect(listener)
    try:
        message = inbound_store(account=account, event=inbound())
    finally:
        inbound_message_received.disconnect(listener)

    assert message is not None
    assert announced == [message.id]
    message = Message.objects.get(id=message.id)
    assert (message.direction, message.status, message.channel) == (Message.INBOUND, Status.RECEIVED, "viber")
    assert (message.destination, message.provider_message_id) == ("01234567890A=", "4912661846655238145")
    assert message.customer_id == account.customer_id
    assert message.triggered_at is not None
    assert [(e.status, e.occurred_at) for e in message.events.all()] == [(Status.RECEIVED, AT)]
    conversation = message.conversation
    assert conversation.user_identifier == "01234567890A="
    assert conversation.last_message_at is not None
    assert conversation.participants.get(role="user").name == "John McClane"


def test_the_same_inbound_event_again_changes_nothing(account):
    first = inbound_store(account=account, event=inbound())
    counts = (Message.objects.count(), MessageEvent.objects.count(), Conversation.objects.count())
    last_message_at = Conversation.objects.get().last_message_at
    announced = []
    listener = lambda sender, message, **kw: announced.append(message.id)  # noqa: E731
    inbound_message_received.connect(listener)
    try:
        again = inbound_store(account=account, event=inbound())
    finally:
        inbound_message_received.disconnect(listener)

    assert first is not None and again is None
    assert announced == []
    assert (Message.objects.count(), MessageEvent.objects.count(), Conversation.objects.count()) == counts
    assert Conversation.objects.get().last_message_at == last_message_at


def test_the_same_provider_id_on_another_account_is_another_message(account):
    other = TrafficAccountFactory(channel="viber")

    assert inbound_store(account=account, event=inbound()) is not None
    assert inbound_store(account=other, event=inbound()) is not None


def test_an_inbound_message_joins_the_existing_conversation(account, message):
    stored = inbound_store(account=account, event=inbound())

    assert stored is not None and stored.conversation_id == message.conversation_id
    assert Conversation.objects.filter(traffic_account=account).count() == 1


# ---- reachability and templates ------------------------------------------------------------


def test_a_user_state_sets_reachability_of_the_conversation(account, message):
    assert user_state_apply(account=account, event=UserStateEvent(user="01234567890A=", reachable=False)) is True
    assert Conversation.objects.get(id=message.conversation_id).user_reachable is False

    assert user_state_apply(account=account, event=UserStateEvent(user="01234567890A=", reachable=True)) is True
    assert Conversation.objects.get(id=message.conversation_id).user_reachable is True


def test_a_user_state_for_a_stranger_changes_nothing(account):
    assert user_state_apply(account=account, event=UserStateEvent(user="nobody", reachable=False)) is False
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    ("event_status", "reason", "stored_status", "stored_reason"),
    [
        ("APPROVED", "", "APPROVED", ""),
        ("REJECTED", "INVALID_FORMAT", "REJECTED", "INVALID_FORMAT"),
        ("REINSTATED", "", "APPROVED", ""),
        ("PAUSED", "LOW_QUALITY", "PAUSED", "LOW_QUALITY"),
    ],
)
def test_a_template_verdict_updates_the_known_template(event_status, reason, stored_status, stored_reason):
    account = TrafficAccountFactory(channel="whatsapp")
    template = WhatsAppTemplate.objects.create(
        traffic_account=account, name="order_update", language="en_US", category="UTILITY",
        rejected_reason="an old reason",
    )
    event = TemplateStatusEvent(name="order_update", language="en_US", status=event_status, reason=reason,
                                provider_template_id="594425479261596")

    assert template_status_apply(account=account, event=event) is True
    template.refresh_from_db()
    assert (template.status, template.rejected_reason, template.provider_template_id) == (
        stored_status, stored_reason, "594425479261596"
    )


def test_a_verdict_for_an_unknown_template_or_language_changes_nothing():
    account = TrafficAccountFactory(channel="whatsapp")
    WhatsAppTemplate.objects.create(traffic_account=account, name="order_update", language="en_US", category="UTILITY")

    event = TemplateStatusEvent(name="order_update", language="de", status="REJECTED")

    assert template_status_apply(account=account, event=event) is False
    assert WhatsAppTemplate.objects.get().status == "PENDING"


# ---- one callback, one transaction --------------------------------------------------------


def test_a_callback_is_applied_in_order_and_counted(account, message):
    outcome = callback_events_apply(account=account, events=[
        report(Status.DELIVERED),
        report(Status.DELIVERED),
        inbound(),
        UserStateEvent(user="01234567890A=", reachable=False),
    ])

    assert (outcome.statuses_applied, outcome.statuses_ignored) == (1, 1)
    assert (outcome.inbound_stored, outcome.inbound_duplicates, outcome.user_states_changed) == (1, 0, 1)


def test_a_callback_that_must_be_retried_writes_nothing(account):
    sent_message(account, destination="01234567890A=", status=Status.SENDING)
    counts = (Message.objects.count(), MessageEvent.objects.count())

    with pytest.raises(ReportNotYetMatched):
        callback_events_apply(account=account, events=[inbound(), report(Status.DELIVERED, provider_message_id="9")])

    assert (Message.objects.count(), MessageEvent.objects.count()) == counts
