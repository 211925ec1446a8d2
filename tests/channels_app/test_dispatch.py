"""Dispatch: claim, send through the adapter, record attempts, retry or fail, never send twice."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.conf import settings
from django.utils import timezone

from channels_app.callbacks.tokens import verify_callback_token
from channels_app.models import DispatchAttempt, Message
from channels_app.services.dispatch import messages_claim, messages_dispatch, retry_delay
from channels_app.services.dispatch_queue import dispatch_backlog, enqueue_dispatch
from channels_app.services.sweeper import BACKLOG_PATIENCE, dispatch_sweep
from channels_app.status import Status
from tests.factories import TrafficAccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_dispatch_queues")]

MITTO_OK = {
    "id": "715118ef01aa4480bbd67324a0459b0b",
    "timestamp": "2019-04-13T12:07:57.86Z",
    "to": "41751231234",
    "responseCode": 0,
    "textLength": 2,
    "responseText": "SMS sent",
}


def _send_sms(auth_client, account, destination="+41751231234") -> Message:
    response = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": destination, "sms": {"text": "hi", "sender": "Brand"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return Message.objects.get(id=response.json()["messageId"])


@pytest.fixture
def sms_account(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")


@responses.activate
def test_a_sent_message_is_sent_with_its_provider_id_and_history(auth_client, sms_account):
    responses.post("https://mitto.test/sms", json=MITTO_OK)
    message = _send_sms(auth_client, sms_account)

    summary = messages_dispatch([message.id])

    assert summary.claimed == 1
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_message_id == MITTO_OK["id"]
    assert list(message.events.values_list("status", flat=True)) == ["Ready", "Sent"]
    attempt = DispatchAttempt.objects.get(message=message)
    assert (attempt.number, attempt.outcome, attempt.http_status) == (1, "sent", 200)
    assert attempt.request["headers"]["X-Mitto-API-Key"] == "***"
    assert "mitto-key" not in str(attempt.request)


@responses.activate
def test_the_sms_callback_url_carries_a_token_for_this_message(auth_client, sms_account, settings):
    settings.PUBLIC_BASE_URL = "https://gateway.example"
    responses.post("https://mitto.test/sms", json=MITTO_OK)
    message = _send_sms(auth_client, sms_account)

    messages_dispatch([message.id])

    import json

    callback = urlparse(json.loads(responses.calls[0].request.body)["callback"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == "https://gateway.example/callbacks/sms/dlr"
    assert verify_callback_token(parse_qs(callback.query)["token"][0], purpose="dlr") == str(message.id)


@responses.activate
def test_a_duplicate_task_does_not_send_twice(auth_client, sms_account):
    responses.post("https://mitto.test/sms", json=MITTO_OK)
    message = _send_sms(auth_client, sms_account)

    messages_dispatch([message.id])
    second = messages_dispatch([message.id])

    assert second.claimed == 0
    assert len(responses.calls) == 1


def test_a_claim_loads_the_account_once_and_takes_only_the_named_accounts_messages(auth_client, sms_account):
    mine = [_send_sms(auth_client, sms_account, destination=f"+4175123123{i}") for i in range(3)]
    other_account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://other.test")
    other = _send_sms(auth_client, other_account, destination="+41751231239")

    claimed = messages_claim([m.id for m in [*mine, other]], traffic_account_id=sms_account.id)

    assert sorted(m.id for m in claimed) == sorted(m.id for m in mine)
    # One account object for the chunk, its credentials decrypted as stored.
    assert len({id(m.traffic_account) for m in claimed}) == 1
    assert claimed[0].traffic_account.credentials == sms_account.credentials
    other.refresh_from_db()
    assert (other.status, other.attempts) == (Status.READY, 0)  # not this chunk's account: left alone


@responses.activate
def test_throttling_is_retried_later_honouring_retry_after(auth_client, sms_account):
    responses.post("https://mitto.test/sms", status=429, headers={"Retry-After": "120"})
    message = _send_sms(auth_client, sms_account)
    before = timezone.now()

    messages_dispatch([message.id])

    message.refresh_from_db()
    assert message.status == Status.READY
    assert message.available_at >= before + timedelta(seconds=120)
    assert message.attempts == 1
    assert DispatchAttempt.objects.get(message=message).outcome == "throttled"
    # Not due yet: a task arriving now claims nothing.
    assert messages_dispatch([message.id]).claimed == 0


@responses.activate
def test_unavailable_provider_is_retried_until_the_limit_then_failed(auth_client, sms_account, settings):
    settings.DISPATCH_MAX_ATTEMPTS = 3
    responses.post("https://mitto.test/sms", status=503, body="down")
    message = _send_sms(auth_client, sms_account)

    for _ in range(3):
        Message.objects.filter(id=message.id).update(available_at=timezone.now())
        messages_dispatch([message.id])

    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.error_text.startswith("retries exhausted")
    assert (
        list(DispatchAttempt.objects.filter(message=message).values_list("outcome", flat=True)) == ["unavailable"] * 3
    )
    assert list(message.events.values_list("status", flat=True)) == ["Ready", "Failed"]


@responses.activate
def test_a_rejected_message_fails_at_once_with_the_provider_code(auth_client, sms_account):
    responses.post("https://mitto.test/sms", json={"responseCode": 8, "responseText": "Invalid receiver"})
    message = _send_sms(auth_client, sms_account)

    messages_dispatch([message.id])

    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_text) == (Status.FAILED, "8", "Invalid receiver")
    assert DispatchAttempt.objects.filter(message=message).count() == 1


@responses.activate
def test_a_configuration_error_fails_and_is_logged_for_operators(auth_client, sms_account, caplog):
    responses.post("https://mitto.test/sms", status=401, json={"message": "Invalid API key"})
    message = _send_sms(auth_client, sms_account)

    messages_dispatch([message.id])

    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert DispatchAttempt.objects.get(message=message).outcome == "config"
    assert any("configuration error" in r.message and str(sms_account.id) in r.message for r in caplog.records)


@responses.activate
def test_a_connect_timeout_is_recorded_and_retried_with_the_normal_backoff(auth_client, sms_account):
    import requests

    responses.post("https://mitto.test/sms", body=requests.exceptions.ConnectTimeout("unreachable"))
    message = _send_sms(auth_client, sms_account)

    messages_dispatch([message.id])

    message.refresh_from_db()
    assert message.status == Status.READY
    assert message.available_at <= timezone.now() + timedelta(seconds=settings.DISPATCH_RETRY_BASE_SECONDS)
    attempt = DispatchAttempt.objects.get(message=message)
    assert attempt.outcome == "unavailable" and "timeout" in attempt.error


def test_retry_delay_grows_and_honours_the_provider():
    assert 1 <= retry_delay(attempt=1, retry_after=None) <= 2
    assert 8 <= retry_delay(attempt=4, retry_after=None) <= 16
    assert retry_delay(attempt=1, retry_after=30) == 30
    assert retry_delay(attempt=30, retry_after=None) <= 900


def test_the_sweeper_recovers_a_claim_whose_worker_died(auth_client, sms_account, settings):
    message = _send_sms(auth_client, sms_account)
    Message.objects.filter(id=message.id).update(
        status=Status.SENDING, claimed_at=timezone.now() - timedelta(seconds=settings.DISPATCH_CLAIM_LEASE_SECONDS + 1)
    )

    summary = dispatch_sweep()

    message.refresh_from_db()
    assert summary.recovered == 1
    assert message.status == Status.READY
    assert summary.published == 1  # and it goes straight back to the queue


def test_the_sweeper_releases_the_claim_of_a_message_a_report_moved_on(auth_client, sms_account, settings):
    # The report arrived while the send was in flight and the worker died before recording it.
    message = _send_sms(auth_client, sms_account)
    expired = timezone.now() - timedelta(seconds=settings.DISPATCH_CLAIM_LEASE_SECONDS + 1)
    Message.objects.filter(id=message.id).update(status=Status.DELIVERED, claimed_at=expired)

    summary = dispatch_sweep()

    message.refresh_from_db()
    assert summary.recovered == 0
    assert (message.status, message.claimed_at) == (Status.DELIVERED, None)


def test_the_sweeper_publishes_ready_messages_the_broker_never_got(auth_client, sms_account):
    message = _send_sms(auth_client, sms_account)
    # As if the publish after commit had been lost: the republish guard has expired.
    Message.objects.filter(id=message.id).update(queued_until=timezone.now() - timedelta(seconds=1))

    first = dispatch_sweep()
    second = dispatch_sweep()

    assert first.published == 1
    assert second.published == 0  # guarded until DISPATCH_REPUBLISH_AFTER_SECONDS pass
    message.refresh_from_db()
    assert message.queued_until > timezone.now()


@pytest.fixture
def backlog():
    """Tasks waiting in the dispatch queue, as while workers are behind (they name no message)."""
    enqueue_dispatch([uuid.uuid4() for _ in range(3)])
    assert dispatch_backlog() == 1
    return dispatch_backlog()


def _published(message: Message, *, seconds_ago: float | None) -> None:
    """As if the message had last been published that long ago (None: never)."""
    when = None if seconds_ago is None else timezone.now() - timedelta(seconds=seconds_ago)
    Message.objects.filter(id=message.id).update(queued_until=None if when is None else when + _guard())


def _guard() -> timedelta:
    return timedelta(seconds=settings.DISPATCH_REPUBLISH_AFTER_SECONDS)


def test_behind_a_backlog_a_message_published_a_guard_ago_is_not_queued_again(auth_client, sms_account, backlog):
    message = _send_sms(auth_client, sms_account)
    _published(message, seconds_ago=_guard().total_seconds() * 2)

    assert dispatch_sweep().published == 0
    assert dispatch_backlog() == backlog  # no duplicate task joined the queue


def test_behind_a_backlog_a_message_is_queued_again_after_the_longer_patience(auth_client, sms_account, backlog):
    message = _send_sms(auth_client, sms_account)
    _published(message, seconds_ago=_guard().total_seconds() * (BACKLOG_PATIENCE + 1))

    assert dispatch_sweep().published == 1


def test_behind_a_backlog_a_message_never_published_goes_at_once(auth_client, sms_account, backlog):
    message = _send_sms(auth_client, sms_account)
    _published(message, seconds_ago=None)  # a retry whose backoff elapsed, a recovered claim

    assert dispatch_sweep().published == 1


def test_without_a_backlog_a_message_published_a_guard_ago_is_queued_again(auth_client, sms_account):
    message = _send_sms(auth_client, sms_account)
    _published(message, seconds_ago=_guard().total_seconds() * 2)

    assert dispatch_sweep().published == 1


def test_the_sweeper_leaves_fresh_and_future_messages_alone(auth_client, sms_account):
    fresh = _send_sms(auth_client, sms_account)
    later = _send_sms(auth_client, sms_account, destination="+41751231235")
    Message.objects.filter(id=later.id).update(available_at=timezone.now() + timedelta(minutes=5), queued_until=None)

    assert dispatch_sweep().published == 0
    assert {fresh.id, later.id} <= set(Message.objects.filter(status=Status.READY).values_list("id", flat=True))


@responses.activate
def test_throughput_limit_defers_what_does_not_fit_the_next_second(auth_client):
    account = TrafficAccountFactory(
        customer=auth_client.customer, channel="sms", base_url="https://mitto.test", throughput_per_second=2
    )
    responses.post("https://mitto.test/sms", json=MITTO_OK)
    responses.post("https://mitto.test/smsbulk", json={"responseCode": 0, "messages": [
        {"id": f"id-{i}", "to": f"4175123123{i}"} for i in range(6)
    ]})
    messages = [_send_sms(auth_client, account, destination=f"+4175123123{i}") for i in range(6)]

    summary = messages_dispatch([m.id for m in messages])
    deferred = Message.objects.filter(id__in=[m.id for m in messages], status=Status.READY).order_by("available_at")

    # 2/s: slots at +0, +0.5, +1.0 are sent now (the same text: in one /smsbulk call, made at the
    # last of those slots); +1.5, +2.0, +2.5 go back to the outbox at their slot.
    assert summary.claimed == 6
    assert summary.deferred == 3
    (call,) = responses.calls
    assert call.request.url == "https://mitto.test/smsbulk"
    sent_to = set(json.loads(call.request.body)["to"].split(","))
    assert len(sent_to) == 3
    assert sent_to == {m.destination.lstrip("+") for m in messages if m.id not in {d.id for d in deferred}}
    assert deferred.count() == 3
    assert all(m.rate_slot_at == m.available_at for m in deferred)
    assert all(m.attempts == 0 for m in deferred)
