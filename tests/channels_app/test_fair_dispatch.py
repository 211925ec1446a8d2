"""Fair dispatch: single sends and bulk take separate lanes, a traffic account has a bounded
number of chunks in flight, and an account whose provider is down is parked, visibly, then resumes."""

from __future__ import annotations

import base64
import json
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
from channels_app.services.dispatch_queue import (
    DISPATCH_PRIORITY_QUEUE,
    DISPATCH_QUEUE,
    CoalescingPublisher,
    deferred_key,
)
from channels_app.services.sweeper import dispatch_sweep
from channels_app.services.worker_heartbeat import Heartbeat
from channels_app.status import Status
from channels_app.tasks import dispatch_messages
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


def _queued_tasks(queue: str) -> list[tuple[list[str], dict, dict]]:
    """The dispatch tasks waiting in the broker's ``queue``: their ids, keyword arguments and headers."""
    tasks = []
    for raw in get_redis().lrange(queue, 0, -1):
        envelope = json.loads(raw)
        args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        tasks.append((args[0], kwargs, envelope["headers"]))
    return tasks


def _rows(messages: list[Message]) -> list[tuple]:
    return list(
        Message.objects.filter(id__in=_ids(messages))
        .order_by("id")
        .values_list("status", "attempts", "claimed_at", "claimed_by", "available_at", "updated_at")
    )


@pytest.mark.parametrize("task_names_account", [True, False], ids=["bulk-task", "task-without-account"])
@responses.activate
def test_a_chunk_whose_account_has_no_free_permit_claims_nothing_and_is_dispatched_later(
    auth_client, sms_account, settings, task_names_account
):
    settings.DISPATCH_ACCOUNT_CONCURRENCY = 1
    settings.DISPATCH_ACCOUNT_BUSY_RETRY_SECONDS = 1.0
    responses.post("https://mitto.test/sms", json=MITTO_OK)
    messages = _accept(auth_client, sms_account, 3)
    before = _rows(messages)
    # Another worker is sending a chunk of this account: it holds the only permit of the lane.
    other_worker = HeldPermits(Heartbeat(interval=1.0, ttl=0.5))
    assert other_worker.acquire(sms_account.id, DISPATCH_QUEUE, 1) is not None
    account_id = sms_account.id if task_names_account else None  # without: a task queued in the old format

    busy = messages_dispatch(_ids(messages), traffic_account_id=account_id)

    assert (busy.claimed, busy.busy, len(responses.calls)) == (0, 3, 0)
    # Not a row was written: none went Sending, no attempt was counted or recorded.
    assert _rows(messages) == before
    assert all(status == Status.READY and attempts == 0 for status, attempts, *_ in before)
    assert not DispatchAttempt.objects.filter(message__in=_ids(messages)).exists()
    # The chunk is put aside, naming its account, due within the busy retry; nothing is queued yet.
    assert _queued_tasks(DISPATCH_QUEUE) == []
    [(_member, due)] = get_redis().zrange(deferred_key(DISPATCH_QUEUE), 0, -1, withscores=True)
    assert time.time() < due <= time.time() + settings.DISPATCH_ACCOUNT_BUSY_RETRY_SECONDS
    assert dispatch_sweep().deferred_published == 0  # not due yet
    # The other lane has permits of its own.
    assert HeldPermits(Heartbeat(interval=1.0, ttl=0.5)).acquire(sms_account.id, DISPATCH_PRIORITY_QUEUE, 1)

    time.sleep(1.0)  # the chunk is due; that worker died: its permit was never extended and lapsed
    assert dispatch_sweep().deferred_published == 1
    [(ids, kwargs, _headers)] = _queued_tasks(DISPATCH_QUEUE)
    assert sorted(ids) == sorted(str(m.id) for m in messages)
    assert kwargs == {"traffic_account_id": str(sms_account.id)}
    dispatch_messages.apply(args=[ids], kwargs=kwargs)  # a worker runs the queued task

    assert len(responses.calls) == 3
    assert set(Message.objects.filter(id__in=_ids(messages)).values_list("status", "attempts")) == {(Status.SENT, 1)}


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
    # Each task names the account, so the worker takes its permit before claiming.
    for queue in (DISPATCH_PRIORITY_QUEUE, DISPATCH_QUEUE):
        assert [kwargs for _, kwargs, _ in _queued_tasks(queue)] == [{"traffic_account_id": str(sms_account.id)}]


def test_the_chunks_of_a_bulk_name_their_account_so_the_permit_comes_before_the_claim(
    auth_client, sms_account, django_capture_on_commit_callbacks, settings
):
    settings.DISPATCH_CHUNK_SIZE = 2

    with django_capture_on_commit_callbacks(execute=True):
        messages = _accept(auth_client, sms_account, 3)

    tasks = _queued_tasks(DISPATCH_QUEUE)
    assert sorted(i for ids, _, _ in tasks for i in ids) == sorted(str(m.id) for m in messages)
    assert [kwargs for _, kwargs, _ in tasks] == [{"traffic_account_id": str(sms_account.id)}] * 2
    assert all(headers["eta"] is None for _, _, headers in tasks)  # due at once


def test_while_a_chunk_waits_for_a_permit_the_sweeper_does_not_queue_its_messages_again(
    auth_client, sms_account, settings
):
    settings.DISPATCH_ACCOUNT_CONCURRENCY = 1
    messages = _accept(auth_client, sms_account, 3)
    assert HeldPermits(Heartbeat(interval=1.0, ttl=5.0)).acquire(sms_account.id, DISPATCH_QUEUE, 1)
    assert messages_dispatch(_ids(messages), traffic_account_id=sms_account.id).busy == 3
    # They have waited past their republish guard: without the chunk aside they would go out again.
    guard = timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS)
    Message.objects.filter(id__in=_ids(messages)).update(queued_until=timezone.now() - guard)

    assert dispatch_sweep().published == 0
    get_redis().delete(deferred_key(DISPATCH_QUEUE))
    assert dispatch_sweep().published == 3


@responses.activate
def test_single_sends_of_two_accounts_published_together_name_each_and_only_the_busy_account_waits(
    auth_client, sms_account, settings
):
    settings.DISPATCH_ACCOUNT_CONCURRENCY = 1
    responses.post("https://mitto.test/sms", json=MITTO_OK)
    other_account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")
    sends = []
    for account in (sms_account, other_account):
        response = auth_client.post(
            "/api/v1/Message/send",
            {"trafficAccountId": str(account.id), "destination": "+41751230000", "sms": {"text": "otp"}},
            format="json",
        )
        sends.append(Message.objects.get(id=response.json()["messageId"]))
    mine, theirs = sends
    publisher = CoalescingPublisher(interval=30, chunk_size=100)
    publisher.submit([mine.id], sms_account.id)
    publisher.submit([theirs.id], other_account.id)
    publisher.flush()
    [(ids, kwargs, _headers)] = _queued_tasks(DISPATCH_PRIORITY_QUEUE)
    assert kwargs == {"traffic_account_ids": [str(sms_account.id), str(other_account.id)]}
    # This account has a chunk in flight elsewhere (a task run here counts in the bulk lane).
    assert HeldPermits(Heartbeat(interval=1.0, ttl=5.0)).acquire(sms_account.id, DISPATCH_QUEUE, 1)

    dispatch_messages.apply(args=[ids], kwargs=kwargs)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (theirs.status, len(responses.calls)) == (Status.SENT, 1)
    assert (mine.status, mine.attempts) == (Status.READY, 0)
    [member] = get_redis().zrange(deferred_key(DISPATCH_QUEUE), 0, -1)
    assert json.loads(member)["ids"] == [str(mine.id)]
