"""Claims name their worker; the sweeper releases the claims of workers whose heartbeat is gone,
never those of a live one; a chunk that stops early gives back what it did not send."""

from __future__ import annotations

import json
import time

import pytest
import responses
from django.db import DataError
from django.utils import timezone

from channels_app.models import DispatchAttempt, Message
from channels_app.services.dispatch import messages_dispatch
from channels_app.services.sweeper import dispatch_sweep
from channels_app.services.worker_heartbeat import current_heartbeat, heartbeat_key
from channels_app.status import Status
from gateway.redis import get_redis
from tests.factories import TrafficAccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_dispatch_queues")]

MITTO_OK = {"id": "p-1", "responseCode": 0, "responseText": "SMS sent", "to": "41751231234"}


@pytest.fixture
def sms_account(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")


def _accept(auth_client, account, count: int = 1) -> list[Message]:
    ids = []
    for i in range(count):
        response = auth_client.post(
            "/api/v1/Message/send",
            {"trafficAccountId": str(account.id), "destination": f"+4175123123{i}", "sms": {"text": "hi"}},
            format="json",
        )
        assert response.status_code == 200
        ids.append(response.json()["messageId"])
    return list(Message.objects.filter(id__in=ids).order_by("destination"))


def _claimed_by(message: Message, worker_id: str) -> None:
    Message.objects.filter(id=message.id).update(
        status=Status.SENDING, claimed_at=timezone.now(), claimed_by=worker_id, attempts=1
    )


@responses.activate
def test_a_claim_records_the_worker_and_the_worker_has_a_heartbeat(auth_client, sms_account):
    responses.post("https://mitto.test/sms", json=MITTO_OK)
    (message,) = _accept(auth_client, sms_account)

    messages_dispatch([message.id])

    message.refresh_from_db()
    worker_id = current_heartbeat().worker_id
    assert (message.status, message.claimed_by) == (Status.SENT, worker_id)
    ttl_ms = get_redis().pttl(heartbeat_key(worker_id))
    assert 0 < ttl_ms <= current_heartbeat().ttl * 1000


def test_claims_of_a_worker_without_heartbeat_are_released_once_confirmed(auth_client, sms_account, settings):
    settings.DISPATCH_DEAD_WORKER_CONFIRM_SECONDS = 0.5
    (message,) = _accept(auth_client, sms_account)
    dead_worker = f"gone:{time.time()}"
    _claimed_by(message, dead_worker)

    first = dispatch_sweep()
    message.refresh_from_db()
    assert (first.released, message.status) == (0, Status.SENDING)  # one missing look is not enough

    time.sleep(0.6)
    second = dispatch_sweep()

    message.refresh_from_db()
    assert second.released == 1
    assert (message.status, message.claimed_at) == (Status.READY, None)
    assert second.published == 1  # and it goes straight back to the queue


def test_claims_of_a_live_worker_stay_claimed(auth_client, sms_account, settings):
    settings.DISPATCH_DEAD_WORKER_CONFIRM_SECONDS = 0
    (message,) = _accept(auth_client, sms_account)
    _claimed_by(message, current_heartbeat().worker_id)

    summary = dispatch_sweep()

    message.refresh_from_db()
    assert summary.released == 0
    assert message.status == Status.SENDING


def _nul_in_provider_id_after_a_pause(request):
    time.sleep(0.08)  # longer than a record batch's interval: this outcome is recorded on its own
    return 200, {}, json.dumps({"id": "p-\u0000-1", "responseCode": 0, "responseText": "SMS sent"})


@responses.activate
def test_a_chunk_that_fails_gives_back_the_messages_it_did_not_send(auth_client, sms_account, settings):
    settings.MITTO_BULK_MAX_DESTINATIONS = 1  # one provider call per message, as this test counts
    # The provider's message id holds a NUL, which PostgreSQL's text columns refuse: recording the
    # first outcome fails, as any unexpected error in a chunk would.
    responses.add_callback(responses.POST, "https://mitto.test/sms", callback=_nul_in_provider_id_after_a_pause)
    messages = _accept(auth_client, sms_account, count=3)

    with pytest.raises(DataError):
        messages_dispatch([m.id for m in messages])

    assert len(responses.calls) == 1
    after = Message.objects.filter(id__in=[m.id for m in messages])
    # The one that went out stays Sending (its outcome is unknown to us); the two never sent are back.
    assert sorted(after.values_list("status", flat=True)) == [Status.READY, Status.READY, Status.SENDING]
    rest = after.filter(status=Status.READY)
    assert all((m.claimed_at, m.attempts) == (None, 0) for m in rest)
    assert not DispatchAttempt.objects.filter(message__in=rest).exists()
