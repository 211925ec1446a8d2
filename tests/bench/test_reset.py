"""The pipeline reset's park: every message that could still be sent or failed over is moved out
of reach, in id-ordered batches, and nothing else is touched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bench import reset
from channels_app.models import Message
from channels_app.status import Status
from tests.factories import MessageFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db


def test_park_cancels_what_could_still_be_sent_in_batches_and_leaves_the_rest(monkeypatch) -> None:
    monkeypatch.setattr(reset, "PARK_BATCH", 2)  # five parkable rows: three batches in one pass
    account = TrafficAccountFactory(channel="sms")
    soon = timezone.now() + timedelta(seconds=30)
    ready = [MessageFactory(traffic_account=account, destination=f"+4175123000{n}", status=Status.READY,
                            available_at=soon) for n in range(3)]
    scheduled = MessageFactory(traffic_account=account, destination="+41751239001", status=Status.SCHEDULED,
                               triggered_at=None)
    sent_with_deadline = MessageFactory(traffic_account=account, destination="+41751239002", status=Status.SENT,
                                        failover_deadline=soon)
    delivered = MessageFactory(traffic_account=account, destination="+41751239003", status=Status.DELIVERED)

    parked = reset.messages_park()

    assert parked == 5
    for message in [*ready, scheduled]:
        message.refresh_from_db()
        assert (message.status, message.available_at, message.failover_deadline) == (Status.CANCELLED, None, None)
    sent_with_deadline.refresh_from_db()
    assert (sent_with_deadline.status, sent_with_deadline.failover_deadline) == (Status.SENT, None)
    delivered.refresh_from_db()
    assert delivered.status == Status.DELIVERED
    assert reset.messages_park() == 0
    assert Message.objects.filter(status=Status.CANCELLED).count() == 4
