"""Dispatch attempt bodies (they hold message content) are emptied after the retention period;
the outcome, status and error stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Conversation, DispatchAttempt, Message
from channels_app.status import Status
from channels_app.tasks import expire_attempt_bodies
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db


def _attempt(message: Message, *, days_ago: float, number: int) -> DispatchAttempt:
    return DispatchAttempt.objects.create(
        message=message,
        number=number,
        started_at=timezone.now() - timedelta(days=days_ago),
        outcome="rejected",
        http_status=400,
        request={"url": "https://provider.test/send", "body": {"text": "Your code is 493021"}},
        response={"error": "bad destination"},
        error="invalid_destination: bad destination",
    )


def test_old_attempt_bodies_are_emptied_and_recent_ones_kept(settings):
    settings.DISPATCH_ATTEMPT_BODY_RETENTION_DAYS = 30
    account = TrafficAccountFactory(channel="sms")
    conversation = Conversation.objects.create(traffic_account=account, user_identifier="+41751231234")
    message = Message.objects.create(
        customer=account.customer, traffic_account=account, conversation=conversation, channel="sms",
        direction=Message.OUTBOUND, destination="+41751231234", content={"sms": {"text": "Your code is 493021"}},
        status=Status.FAILED,
    )
    old = [_attempt(message, days_ago=45, number=1), _attempt(message, days_ago=31, number=2)]
    recent = _attempt(message, days_ago=2, number=3)

    expire_attempt_bodies()

    for attempt in old:
        attempt.refresh_from_db()
        assert (attempt.request, attempt.response) == ({}, None)
        assert (attempt.outcome, attempt.http_status, attempt.error) == (
            "rejected", 400, "invalid_destination: bad destination"
        )
    recent.refresh_from_db()
    assert recent.request["body"] == {"text": "Your code is 493021"}

    # Time passes: the next sweep goes on from where the last stopped and reaches the recent one.
    DispatchAttempt.objects.filter(id=recent.id).update(started_at=timezone.now() - timedelta(days=40))
    expire_attempt_bodies()
    recent.refresh_from_db()
    assert (recent.request, recent.response) == ({}, None)
