"""Fair dispatch: single sends and bulk take separate lanes, a traffic account has a bounded
number of chunks in flight, and an account whose provider is down is parked, visibly, then resumes."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from channels_app.models import DispatchAttempt, Message
from channels_app.services.account_permits import HeldPermits
from channels_app.services.circuit_breaker import CIRCUIT_OPEN_CODE, breaker_open_until
from channels_app.services.dispatch import messages_dispatch
from channels_app.services.dispatch_queue import DISPATCH_PRIORITY_QUEUE, DISPATCH_QUEUE
from channels_app.services.sweeper import dispatch_sweep
from channels_app.services.worker_heartbeat import Heartbeat
from channels_app.status import Status
from gateway.redis import get_redis
from tests.factories import TrafficAccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_dispatch_queues")]


@pytest.fixture(autouse=True)
def _one_call_per_message(settings):
    """These tests count provider calls per message (fairness, the breaker); the same-text
    messages they accept would otherwise go in /smsbulk calls (tests/channels_app/test_dispatch_bulk.py)."""
    settings.MITTO_BULK_MAX_DESTINATIONS = 1

MITTO_OK = {"id": "p-1", "responseCode": 0, "responseText": "SMS sent", "to": "41751231234"}


@pytest.fixture
def sms_account(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")


def _accept(auth_client, account, count: int) -> list[Message]:
    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {
            "trafficAccountId": str(account.id),
            "destinations": [f"+417512{i:05d}" for i in range(count)],
            "sms": {"text": "hi"},
        },
        format="json",
    )
    assert response.status_code == 200
    return list(Message.objects.filter(bulk_id=response.json()["bulkId"]).order_by("destination"))


def _ids(messages: list[Message]) -> list[uuid.UUID]:
    return [m.id for m in messages]


@responses.activate
def test_an_unavailable_provider_opens_the_breaker_and_the_rest_waits_visibly(auth_client, sms_account, settings):
    settings.DISPATCH_BREAKER_FAILURES = 3
    responses.post("https://mitto.test/sms", status=503, json={"error": "down"})
    messages = _accept(auth_client, sms_account, 10)

    summary = messages_dispatch(_ids(messages))

    assert len(responses.calls) == 3  # the breaker opened on the third failure in a row
    assert summary.parked == 7
    until = breaker_open_until(sms_account.id)
    assert until is not None and until > time.time() + settings.DISPATCH_BREAKER_COOLDOWN_SECONDS - 5
    parked = Message.objects.filter(id__in=_ids(messages), error_code=CIRCUIT_OPEN_CODE)
    assert parked.count() == 7
    assert all(m.status == Status.READY and m.attempts == 0 for m in parked)
    assert all(abs(m.available_at.timestamp() - until) < 1 for m in parked)
    assert "unavailable" in parked.first().error_text
    # The lookup API shows why a parked message is still Ready.
    body = auth_client.get(f"/api/v1/Message/{parked.first().id}").json()
    assert (body["deliveryStatus"], body["errorCode"]) == ("Ready", CIRCUIT_OPEN_CODE), body
    assert "sending resumes at" in body["errorText"]


@responses.activate
def test_while_the_breaker_is_open_nothing_is_sent_and_after_it_sending_resumes(auth_client, sms_account, settings):
    settings.DISPATCH_BREAKER_FAILURES = 2
    settings.DISPATCH_BREAKER_COOLDOWN_SECONDS = 1.0
    responses.post("https://mitto.test/sms", status=503, json={"error": "down"})
    first, second, *rest = _accept(auth_client, sms_account, 5)
    messages_dispatch([first.id, second.id])
    assert breaker_open_until(sms_account.id) is not None

    open_summary = messages_dispatch(_ids(rest))

    assert (open_summary.claimed, open_summary.parked, len(responses.calls)) == (3, 3, 2)
    responses.replace(responses.POST, "https://mitto.test/sms", json=MITTO_OK)
    time.sleep(1.1)  # the cool-down
    Message.objects.filter(id__in=_ids(rest)).update(available_at=timezone.now())  # due again

    messages_dispatch(_ids(rest))

    assert breaker_open_until(sms_account.id) is None
    assert Message.objects.filter(id__in=_ids(rest), status=Status.SENT).count() == 3


@responses.activate
def test_an_account_at_its_chunk_bound_gets_its_messages_back_until_a_permit_is_free(
    auth_client, sms_account, settings
):
    settings.DISPATCH_ACCOUNT_CONCURRENCY = 1
    responses.post("https://mitto.test/sms", json=MITTO_OK)
    messages = _accept(auth_client, sms_account, 3)
    # Another worker is sending a chunk of this account: it holds the only permit of the lane.
    other_worker = HeldPermits(Heartbeat(interval=1.0, ttl=0.5))
    assert other_worker.acquire(sms_account.id, DISPATCH_QUEUE, 1) is not None

    busy = messages_dispatch(_ids(messages))

    assert (busy.claimed, busy.busy, len(responses.calls)) == (3, 3, 0)
    back = Message.objects.filter(id__in=_ids(messages))
    assert all(m.status == Status.READY and m.attempts == 0 and m.available_at > timezone.now() for m in back)
    assert not DispatchAttempt.objects.filter(message__in=back).exists()
    # The other lane has permits of its own.
    assert HeldPermits(Heartbeat(interval=1.0, ttl=0.5)).acquire(sms_account.id, DISPATCH_PRIORITY_QUEUE, 1)

    time.sleep(0.6)  # that worker died: its permit was never extended and lapsed
    back.update(available_at=timezone.now())
    sent = messages_dispatch(_ids(messages))

    assert (sent.busy, len(responses.calls)) == (0, 3)


def test_the_sweeper_sends_single_sends_to_the_priority_lane_and_bulk_to_the_bulk_lane(
    auth_client, sms_account, django_capture_on_commit_callbacks
):
    (bulk_message,) = _accept(auth_client, sms_account, 1)
    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(sms_account.id), "destination": "+41751230000", "sms": {"text": "otp"}},
        format="json",
    )
    single = Message.objects.get(id=response.json()["messageId"])
    get_redis().delete(DISPATCH_QUEUE, DISPATCH_PRIORITY_QUEUE)
    # As if both publishes had been lost: their republish guards have expired.
    Message.objects.filter(id__in=[bulk_message.id, single.id]).update(
        queued_until=timezone.now() - timedelta(seconds=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        summary = dispatch_sweep()

    assert summary.published == 2
    assert get_redis().llen(DISPATCH_PRIORITY_QUEUE) == 1
    assert get_redis().llen(DISPATCH_QUEUE) == 1
