"""Delivery over time: each thing counted in the bucket of its own timestamp, per channel and
account, over the same messages as GET /statistics, with delivery rate, failovers and p95."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from channels_app.models import Message
from channels_app.services.statistics_timeline import SeriesKey, delivery_timeline
from channels_app.status import Status
from tests.factories import MessageFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
def accounts():
    sms = TrafficAccountFactory(channel="sms")
    return sms, TrafficAccountFactory(customer=sms.customer, channel="telegram")


def test_counts_land_in_the_bucket_of_their_own_timestamp(accounts):
    sms, telegram = accounts
    MessageFactory(traffic_account=sms, created_at=_at(0.5), sent_at=_at(0.6), delivered_at=_at(2.1),
                   read_at=_at(5), status=Status.READ)
    MessageFactory(traffic_account=sms, created_at=_at(1.2), sent_at=_at(1.3), failed_at=_at(3.5),
                   status=Status.FAILED)
    MessageFactory(traffic_account=telegram, created_at=_at(1.9), sent_at=_at(2), status=Status.SENT)
    # Not counted: created outside the window, never triggered, inbound.
    MessageFactory(traffic_account=sms, created_at=START - MINUTE, sent_at=_at(1), status=Status.SENT)
    MessageFactory(traffic_account=sms, created_at=_at(3), triggered_at=None, status=Status.SCHEDULED)
    MessageFactory(traffic_account=sms, created_at=_at(3), direction=Message.INBOUND, status=Status.RECEIVED)

    timeline = delivery_timeline(created_from=START, created_to=END, bucket=MINUTE)

    assert len(timeline.buckets) == 60
    overall = timeline.overall.counts
    assert overall["accepted"][:4] == [1, 2, 0, 0]
    assert overall["sent"][:4] == [1, 1, 1, 0]
    assert overall["delivered"][:4] == [0, 0, 1, 0]
    assert overall["failed"][:4] == [0, 0, 0, 1]
    assert overall["read"][5] == 1 and sum(overall["read"]) == 1
    per_channel = {s.key.channel: s for s in timeline.per_channel()}
    assert sum(per_channel["sms"].counts["accepted"]) == 2
    assert sum(per_channel["telegram"].counts["sent"]) == 1
    by_account = {s.key.traffic_account_id: s for s in timeline.per_account()}
    assert set(by_account) == {sms.id, telegram.id}
    assert by_account[sms.id].counts["failed"][3] == 1


def test_summaries_give_rate_failovers_and_p95_per_group(accounts):
    sms, telegram = accounts
    for seconds in range(1, 21):  # 20 deliveries taking 1..20 s
        created = _at(10)
        MessageFactory(traffic_account=sms, created_at=created, delivered_at=created + timedelta(seconds=seconds),
                       status=Status.DELIVERED)
    MessageFactory(traffic_account=sms, created_at=_at(11), failed_at=_at(12), status=Status.FAILED)
    chain = MessageFactory(traffic_account=sms, created_at=_at(20), failed_at=_at(21), status=Status.FAILED)
    MessageFactory(traffic_account=telegram, created_at=_at(20), triggered_at=_at(21), failover_chain=chain,
                   failover_position=1, status=Status.SENT)

    timeline = delivery_timeline(created_from=START, created_to=END, bucket=MINUTE)

    sms_series = timeline.series[SeriesKey("sms", None)]
    assert (sms_series.accepted, sms_series.delivered, sms_series.failed) == (22, 20, 2)
    assert sms_series.delivery_rate == pytest.approx(20 / 22)
    assert sms_series.p95_to_delivered_seconds == pytest.approx(19.05)
    telegram_series = timeline.series[SeriesKey("telegram", telegram.id)]
    assert (telegram_series.failovers, telegram_series.p95_to_delivered_seconds) == (1, None)
    assert telegram_series.counts["accepted"][21] == 1  # accepted when the failover triggered it
    assert telegram_series.delivery_rate is None  # Telegram has no receipts
    overall = timeline.overall
    assert (overall.failovers, overall.accepted, overall.with_receipts) == (1, 23, 22)
    assert overall.delivery_rate == pytest.approx(20 / 22)


def test_filters_and_an_empty_window(accounts):
    sms, telegram = accounts
    MessageFactory(traffic_account=sms, created_at=_at(1))
    MessageFactory(traffic_account=telegram, created_at=_at(1))

    only_telegram = delivery_timeline(created_from=START, created_to=END, bucket=MINUTE, channel="telegram")
    only_sms = delivery_timeline(created_from=START, created_to=END, bucket=MINUTE, traffic_account_id=sms.id)
    other_customer = delivery_timeline(
        created_from=START, created_to=END, bucket=MINUTE, customer=TrafficAccountFactory().customer
    )

    assert [s.key.channel for s in only_telegram.per_channel()] == ["telegram"]
    assert [s.key.traffic_account_id for s in only_sms.per_account()] == [sms.id]
    assert other_customer.overall.accepted == 0 and other_customer.overall.delivery_rate is None
    assert other_customer.per_channel() == []


def test_the_number_of_buckets_is_bounded():
    with pytest.raises(ValueError, match="between 1 and"):
        delivery_timeline(created_from=START, created_to=START + timedelta(days=2), bucket=timedelta(seconds=1))
