"""Timeout failover: fires after the deadline and only then, once, across concurrent sweepers."""

from __future__ import annotations

import threading
import weakref
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels_app.models import Message, MessageEvent
from channels_app.services.failover import failover_sweep
from channels_app.services.purge import messages_purge_untriggered
from channels_app.services.transitions import message_transition, messages_mark_sent
from channels_app.signals import message_status_changed
from channels_app.status import Status
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

WHATSAPP = {"type": "regular", "regular": {"type": "text", "text": "hi"}}


def _chain(client, accounts, *, timeout=20, wanted="Delivered", destinations=None):
    content = {"whatsapp": WHATSAPP, "sms": {"text": "hi"}, "viber": {"type": "session", "text": "hi"}}
    channels = {a.channel for a in accounts}
    body = {
        **{k: v for k, v in content.items() if k in channels},
        "failover": {
            "type": "Timeout",
            "timeoutFailover": {
                "timeoutInSeconds": timeout,
                "status": wanted,
                "trafficAccounts": [str(a.id) for a in accounts],
            },
        },
    }
    if destinations:
        response = client.post("/api/v1.1/Messages/sendbulk", body | {"destinations": destinations}, format="json")
        assert response.status_code == 200, response.json()
        return [[Message.objects.get(id=i) for i in e["messageIds"]] for e in response.json()["messages"]]
    response = client.post("/api/v1/Message/send", body | {"destination": "+41751231234"}, format="json")
    assert response.status_code == 200, response.json()
    return [Message.objects.get(id=i) for i in response.json()]


@pytest.fixture
def accounts(auth_client):
    return [
        TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp"),
        TrafficAccountFactory(customer=auth_client.customer, channel="sms"),
    ]


def _expire(message: Message) -> None:
    """Move a pending deadline into the past (as if the timeout had elapsed)."""
    Message.objects.filter(id=message.id).exclude(failover_deadline=None).update(
        failover_deadline=timezone.now() - timedelta(milliseconds=1)
    )


def _mark_sent(message: Message) -> None:
    Message.objects.filter(id=message.id).update(status=Status.SENT)
    message.refresh_from_db()


def test_failover_fires_after_the_timeout_and_not_before(auth_client, accounts):
    first, second = _chain(auth_client, accounts, timeout=20)
    _mark_sent(first)

    assert failover_sweep().claimed == 0  # the deadline is 20 s away
    second.refresh_from_db()
    assert second.status == Status.SCHEDULED

    _expire(first)
    summary = failover_sweep()

    second.refresh_from_db()
    assert (summary.claimed, summary.triggered) == (1, 1)
    assert second.status == Status.READY
    assert second.triggered_at is not None
    assert second.failover_deadline is None  # the last hop has nothing to fail over to
    assert list(second.events.values_list("status", "source")) == [("Scheduled", "api"), ("Ready", "failover")]
    assert failover_sweep().claimed == 0  # fired once


def test_a_delivered_report_before_the_deadline_prevents_failover(auth_client, accounts):
    first, second = _chain(auth_client, accounts)
    _mark_sent(first)

    message_transition(message=first, status=Status.DELIVERED, source="provider")
    _expire(first)  # even a deadline that has passed by now no longer counts

    first.refresh_from_db()
    assert first.failover_deadline is None
    assert failover_sweep().claimed == 0
    second.refresh_from_db()
    assert second.status == Status.CANCELLED
    assert second.triggered_at is None


def test_read_satisfies_delivered(auth_client, accounts):
    first, second = _chain(auth_client, accounts)
    _mark_sent(first)

    message_transition(message=first, status=Status.READ, source="provider")

    second.refresh_from_db()
    assert second.status == Status.CANCELLED


def test_a_sent_hop_does_not_satisfy_delivered(auth_client, accounts):
    first, second = _chain(auth_client, accounts)
    Message.objects.filter(id=first.id).update(status=Status.SENDING)
    first.refresh_from_db()

    message_transition(message=first, status=Status.SENT, source="dispatch", from_statuses=[Status.SENDING])

    second.refresh_from_db()
    assert second.status == Status.SCHEDULED


def test_wanted_status_sent_is_satisfied_by_sent(auth_client, accounts):
    first, second = _chain(auth_client, accounts, wanted="Sent")
    Message.objects.filter(id=first.id).update(status=Status.SENDING)
    first.refresh_from_db()

    message_transition(message=first, status=Status.SENT, source="dispatch", from_statuses=[Status.SENDING])

    second.refresh_from_db()
    assert second.status == Status.CANCELLED


def test_a_failed_first_hop_triggers_the_second_at_once(auth_client, accounts):
    first, second = _chain(auth_client, accounts)
    _mark_sent(first)

    message_transition(message=first, status=Status.FAILED, source="provider", error_code="131026")

    second.refresh_from_db()
    assert second.status == Status.READY
    first.refresh_from_db()
    assert first.failover_deadline is None
    assert failover_sweep().claimed == 0


@pytest.fixture
def status_signal_without_receivers():
    """``message_status_changed`` with every receiver detached for the test, restored after."""
    saved = list(message_status_changed.receivers)
    message_status_changed.receivers = []
    message_status_changed.sender_receivers_cache.clear()
    yield message_status_changed
    message_status_changed.receivers = saved
    message_status_changed.sender_receivers_cache.clear()


def _receiver_modules() -> set[str]:
    receivers = [
        ref() if isinstance(ref, weakref.ReferenceType) else ref for _, ref, *_ in message_status_changed.receivers
    ]
    return {r.__module__ for r in receivers if r is not None}


def test_no_part_of_channels_app_listens_to_the_status_signal():
    """Failover is called by the transition code; the signal is only for the layers above."""
    assert _receiver_modules() == {"webhooks_app.services.fanout"}


def test_a_failed_hop_hands_over_with_no_receiver_of_the_status_signal(
    auth_client, accounts, status_signal_without_receivers
):
    first, second = _chain(auth_client, accounts)
    _mark_sent(first)
    assert not status_signal_without_receivers.has_listeners(Message)

    message_transition(message=first, status=Status.FAILED, source="provider", error_code="131026")

    second.refresh_from_db()
    assert second.status == Status.READY
    assert MessageEvent.objects.filter(message=second, status=Status.READY, source="failover").exists()


def test_a_satisfied_hop_cancels_the_rest_with_no_receiver_of_the_status_signal(
    auth_client, accounts, status_signal_without_receivers
):
    first, second = _chain(auth_client, accounts, wanted="Sent")
    Message.objects.filter(id=first.id).update(status=Status.SENDING)
    first.refresh_from_db()

    assert messages_mark_sent(accepted=[(first, "wamid.1", timezone.now())]) == 1

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.failover_deadline) == (Status.SENT, None)
    assert second.status == Status.CANCELLED


def test_three_hop_chain_walks_hop_by_hop(auth_client):
    accounts = [
        TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp"),
        TrafficAccountFactory(customer=auth_client.customer, channel="viber", viber_kind="business"),
        TrafficAccountFactory(customer=auth_client.customer, channel="sms"),
    ]
    first, second, third = _chain(auth_client, accounts, timeout=30)
    _mark_sent(first)

    _expire(first)
    failover_sweep()
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.status, third.status) == (Status.READY, Status.SCHEDULED)
    assert second.failover_deadline is not None  # the middle hop has its own timeout
    assert timedelta(seconds=29) < second.failover_deadline - second.triggered_at <= timedelta(seconds=30)

    _mark_sent(second)
    _expire(second)
    failover_sweep()
    third.refresh_from_db()
    assert third.status == Status.READY

    body = auth_client.get(f"/api/v1/Message/{first.id}").json()
    assert [h["deliveryStatus"] for h in body["failover"]["hops"]] == ["Sent", "Sent", "Ready"]
    assert body["failover"]["outcome"] == "Pending"


def test_failover_inside_sendbulk(auth_client, accounts):
    chains = _chain(auth_client, accounts, destinations=[f"+4179000000{i}" for i in range(5)])
    Message.objects.filter(id__in=[c[0].id for c in chains]).update(
        status=Status.SENT, failover_deadline=timezone.now() - timedelta(seconds=1)
    )
    message_transition(message=Message.objects.get(id=chains[0][0].id), status=Status.DELIVERED, source="provider")

    summary = failover_sweep()

    assert summary.claimed == 4
    statuses = [Message.objects.get(id=c[1].id).status for c in chains]
    assert statuses == [Status.CANCELLED] + [Status.READY] * 4


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweepers_fire_each_hop_exactly_once(auth_client, accounts):
    count = 300
    chains = _chain(auth_client, accounts, destinations=[f"+417900{i:05d}" for i in range(count)])
    Message.objects.filter(id__in=[c[0].id for c in chains]).update(
        status=Status.SENT, failover_deadline=timezone.now() - timedelta(seconds=1)
    )
    results = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(failover_sweep(batch=25))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.triggered for r in results) == count
    assert sum(r.claimed for r in results) == count
    second_hops = [c[1].id for c in chains]
    assert Message.objects.filter(id__in=second_hops, status=Status.READY).count() == count
    assert MessageEvent.objects.filter(message_id__in=second_hops, source="failover").count() == count


def test_purge_removes_only_never_created_messages_past_the_retention(auth_client, accounts):
    old_chain = _chain(auth_client, accounts)
    young_chain = _chain(
        auth_client, [accounts[0], TrafficAccountFactory(customer=auth_client.customer, channel="sms")]
    )
    Message.objects.filter(id__in=[m.id for m in old_chain]).update(created_at=timezone.now() - timedelta(days=61))
    Message.objects.filter(id__in=[m.id for m in young_chain]).update(created_at=timezone.now() - timedelta(days=59))

    summary = messages_purge_untriggered()

    assert summary.messages == 1
    assert summary.events == 1
    assert not Message.objects.filter(id=old_chain[1].id).exists()
    assert Message.objects.filter(id=old_chain[0].id).exists()  # Created: never purged, however old
    assert Message.objects.filter(id=young_chain[1].id).exists()  # 59 days: kept
    assert messages_purge_untriggered().messages == 0  # re-running is safe


def test_purge_runs_in_batches(auth_client, accounts):
    chains = _chain(auth_client, accounts, destinations=[f"+4179000000{i}" for i in range(7)])
    Message.objects.filter(id__in=[c[1].id for c in chains]).update(created_at=timezone.now() - timedelta(days=90))

    summary = messages_purge_untriggered(batch=3)

    assert summary.messages == 7
    assert Message.objects.filter(triggered_at__isnull=True).count() == 0


@pytest.mark.parametrize(
    ("wanted", "reached", "fires"),
    [
        ("Delivered", Status.SENT, True),
        ("Delivered", Status.DELIVERED, False),
        ("Delivered", Status.READ, False),
        ("Read", Status.DELIVERED, True),
        ("Read", Status.READ, False),
        ("Sent", Status.SENT, False),
        ("Sent", Status.FAILED, True),
    ],
)
def test_the_sweeper_hands_over_only_hops_short_of_their_wanted_status(auth_client, accounts, wanted, reached, fires):
    # given: the status changed without the transition that would have cleared the deadline
    first, second = _chain(auth_client, accounts, wanted=wanted)
    Message.objects.filter(id=first.id).update(status=reached)
    _expire(first)

    # when
    summary = failover_sweep()

    # then
    second.refresh_from_db()
    assert summary.claimed == 1
    assert summary.triggered == int(fires)
    assert second.status == (Status.READY if fires else Status.SCHEDULED)
    history = list(second.events.values_list("status", "source"))
    assert history == [(Status.SCHEDULED, "api"), *([(Status.READY, "failover")] if fires else [])]


def test_the_lag_of_a_fired_deadline_is_observed_and_a_satisfied_one_is_not(auth_client, accounts):
    from prometheus_client import REGISTRY

    def observed() -> tuple[float, float]:
        count = REGISTRY.get_sample_value("gateway_failover_lag_seconds_count") or 0.0
        return count, REGISTRY.get_sample_value("gateway_failover_lag_seconds_sum") or 0.0

    missed, _ = _chain(auth_client, accounts)
    delivered, _ = _chain(auth_client, accounts)
    _mark_sent(missed)
    Message.objects.filter(id=delivered.id).update(status=Status.DELIVERED)
    Message.objects.filter(id__in=[missed.id, delivered.id]).update(
        failover_deadline=timezone.now() - timedelta(seconds=3)
    )
    count, total = observed()

    assert failover_sweep().claimed == 2

    new_count, new_total = observed()
    assert new_count == count + 1  # only the hop that missed its status fired
    assert 3 <= new_total - total < 10


def _chain_body(accounts, wanted):
    return {
        "destination": "1861312834",
        "telegram": {"text": {"message": "hi"}},
        "sms": {"text": "hi"},
        "failover": {
            "type": "Timeout",
            "timeoutFailover": {
                "timeoutInSeconds": 20,
                "status": wanted,
                "trafficAccounts": [str(a.id) for a in accounts],
            },
        },
    }


@pytest.mark.parametrize("wanted", ["Delivered", "Read"])
def test_a_hop_waiting_for_a_status_its_channel_never_reports_is_refused(auth_client, wanted):
    telegram = TrafficAccountFactory(customer=auth_client.customer, channel="telegram")
    sms = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    response = auth_client.post("/api/v1/Message/send", _chain_body([telegram, sms], wanted), format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("failover-status-unreachable")
    assert problem["path"] == "failover.timeoutFailover.trafficAccounts[0]"
    assert problem["trafficAccountId"] == str(telegram.id)
    assert "telegram never reports" in problem["detail"]
    assert not Message.objects.filter(traffic_account=telegram).exists()


def test_read_on_sms_is_refused_but_delivered_is_not_and_a_last_telegram_hop_is_fine(auth_client):
    sms = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    telegram = TrafficAccountFactory(customer=auth_client.customer, channel="telegram")
    # Digits only: an international number for SMS and a chat id for Telegram.
    body = _chain_body([sms, telegram], "Read") | {"destination": "41751231234"}

    refused = auth_client.post("/api/v1/Message/send", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["trafficAccountId"] == str(sms.id)

    body["failover"]["timeoutFailover"]["status"] = "Delivered"
    # Telegram is the last hop: it waits for nothing, so the chain can succeed.
    accepted = auth_client.post("/api/v1/Message/send", body, format="json")
    assert accepted.status_code == 200, accepted.json()
    assert len(accepted.json()) == 2


def test_a_whole_number_written_as_a_float_and_a_padded_status_are_accepted(auth_client, accounts):
    first, second = _chain(auth_client, accounts, timeout=20.0, wanted=" read ")

    assert (first.failover_timeout_seconds, first.failover_wanted_status) == (20, "Read")
    assert second.status == Status.SCHEDULED
