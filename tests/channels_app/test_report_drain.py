"""Stored delivery reports applied in batches: the same outcome as applying each alone
(status, history, webhooks, failover), a bad report isolated and parked, nothing applied twice."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from django.db import connection
from django.test import Client

from channels_app.callbacks.tokens import issue_callback_token
from channels_app.models import Message, MessageEvent, ReportInbox
from channels_app.services.failover import failover_sweep
from channels_app.services.report_drain import reports_drain
from channels_app.services.report_inbox import DRAIN_REQUESTED_KEY
from channels_app.signals import message_status_changed
from channels_app.status import Status
from gateway.redis import get_redis
from tests.channels_app.callbacks.helpers import sent_message, statuses
from tests.factories import TrafficAccountFactory
from webhooks_app.models import WebhookDelivery

pytestmark = pytest.mark.django_db

DLR_URL = "/callbacks/sms/dlr"


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.MITTO_DLR_SIGNING_KEYS = ["test-dlr-key-0123456789abcdef0123456789abcdef"]


@pytest.fixture(autouse=True)
def _no_drain_requested():
    get_redis().delete(DRAIN_REQUESTED_KEY, "housekeeping")
    yield
    get_redis().delete(DRAIN_REQUESTED_KEY, "housekeeping")


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="sms")


def report(client: Client, message: Message, status: str, **fields: str) -> None:
    """Mitto posts a DLR for ``message``; it is stored, not applied."""
    token = issue_callback_token(subject=str(message.id), purpose="dlr")
    body = {"messageId": message.provider_message_id or "m-1", "status": status, "errorcode": "000", **fields}
    response = client.post(f"{DLR_URL}?token={token}", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200


def test_reports_of_many_messages_are_applied_in_one_batch(client, account):
    messages = [sent_message(account, destination=f"+4175123123{n}", provider_message_id=f"m-{n}") for n in range(4)]
    for message in messages:
        report(client, message, "DELIVRD")

    summary = reports_drain()

    assert (summary.batches, summary.applied, summary.ignored, summary.failed) == (1, 4, 0, 0)
    assert summary.applied_alone == 0  # all set-based
    for message in messages:
        message.refresh_from_db()
        assert message.status == Status.DELIVERED and message.delivered_at is not None
        assert statuses(message) == [Status.DELIVERED]
    assert not ReportInbox.objects.exists()


def test_a_duplicate_report_in_one_batch_changes_nothing_the_second_time(client, account):
    message = sent_message(account, destination="+41751231234", provider_message_id="m-1")
    report(client, message, "DELIVRD")
    report(client, message, "DELIVRD")

    summary = reports_drain()

    assert (summary.applied, summary.ignored, summary.applied_alone) == (1, 1, 0)
    assert statuses(message) == [Status.DELIVERED]
    assert not ReportInbox.objects.exists()


def test_sent_then_delivered_in_one_batch_are_both_applied_in_order(client, account):
    message = sent_message(account, destination="+41751231234", status=Status.SENDING)
    report(client, message, "ACCEPTD")
    report(client, message, "DELIVRD", Price="6.00", MccMnc="26201")

    summary = reports_drain()

    assert (summary.applied, summary.applied_alone) == (2, 0)

    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert message.sent_at is not None and message.delivered_at is not None
    assert message.billing == {"price": "6.00", "network": "26201"}
    events = list(MessageEvent.objects.filter(message=message).order_by("id").values_list("status", "source"))
    assert events == [(Status.SENT, "provider"), (Status.DELIVERED, "provider")]


def test_a_late_report_in_the_same_batch_does_not_undo_delivery(client, account):
    message = sent_message(account, destination="+41751231234", provider_message_id="m-1")
    report(client, message, "DELIVRD")
    report(client, message, "ACCEPTD")

    reports_drain()

    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert statuses(message) == [Status.DELIVERED]


def test_a_failure_report_keeps_its_error_and_a_mismatched_id_is_recorded(client, account):
    failed = sent_message(account, destination="+41751231234", provider_message_id="m-1")
    other = sent_message(account, destination="+41751231235", provider_message_id="m-2")
    report(client, failed, "UNDELIV", errorcode="034")
    report(client, other, "DELIVRD", messageId="an-earlier-attempt")

    assert reports_drain().applied_alone == 0

    failed.refresh_from_db()
    assert (failed.status, failed.error_code, failed.error_text) == (Status.FAILED, "034", "UNDELIV")
    event = MessageEvent.objects.get(message=other, status=Status.DELIVERED)
    assert event.detail["providerMessageIdMismatch"] == {"reported": "an-earlier-attempt", "stored": "m-2"}


def test_batch_applied_reports_fan_out_to_the_customers_webhooks(auth_client, client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    webhook = auth_client.post(
        "/api/v1/Webhook",
        {"name": "CRM", "url": "https://93.184.215.14/hooks/chat", "triggers": ["Delivered", "Failed"]},
        format="json",
    ).json()
    applied = auth_client.post(
        "/api/v1/WebhookTrafficAccount/ApplyWebhookForTrafficAccount",
        {"webhookId": webhook["id"], "trafficAccountId": str(account.id)}, format="json",
    )
    assert applied.status_code == 201
    delivered = sent_message(account, destination="+41751231234", status=Status.SENDING)
    failed = sent_message(account, destination="+41751231235", provider_message_id="m-2")
    report(client, delivered, "ACCEPTD")  # Sent: no customer trigger
    report(client, delivered, "DELIVRD")
    report(client, failed, "UNDELIV", errorcode="034")

    assert reports_drain().applied_alone == 0

    deliveries = WebhookDelivery.objects.filter(message_id__in=[delivered.id, failed.id])
    payloads = {d.message_id: d.payload for d in deliveries}
    assert len(payloads) == 2
    assert (payloads[delivered.id]["eventType"], payloads[delivered.id]["deliveryStatus"]) == ("Delivered", "Delivered")
    assert payloads[failed.id]["error"] == {"code": "034", "text": "UNDELIV"}


def test_a_report_that_raises_leaves_the_others_applied_and_is_parked_after_its_attempts(client, account, settings):
    settings.REPORT_INBOX_MAX_ATTEMPTS = 2
    good = sent_message(account, destination="+41751231234", provider_message_id="m-1")
    bad = sent_message(account, destination="+41751231235", provider_message_id="m-2")

    def broken_listener(sender, message, **kwargs):
        if message.id == bad.id:
            raise RuntimeError("listener broke")

    report(client, good, "DELIVRD")
    report(client, bad, "DELIVRD")
    message_status_changed.connect(broken_listener)
    try:
        first = reports_drain()
        stored = ReportInbox.objects.get()
        assert (stored.message_id, stored.attempts, stored.parked_at) == (bad.id, 1, None)
        assert "listener broke" in stored.last_error
        second = reports_drain()
        third = reports_drain()
    finally:
        message_status_changed.disconnect(broken_listener)

    assert (first.applied, first.failed, first.parked, first.batches_one_by_one) == (1, 1, 0, 1)
    assert (second.failed, second.parked) == (1, 1)
    assert third.batches == 0  # parked: no longer tried
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == Status.DELIVERED and statuses(good) == [Status.DELIVERED]
    assert bad.status == Status.SENT and statuses(bad) == []  # its move rolled back with the listener
    parked = ReportInbox.objects.get()
    assert parked.attempts == 2 and parked.parked_at is not None  # kept for an operator


def test_a_parked_report_is_listed_for_operators(client, account, operator_client, settings):
    settings.REPORT_INBOX_MAX_ATTEMPTS = 1
    message = sent_message(account, destination="+41751231234", provider_message_id="m-1")

    def broken_listener(sender, message, **kwargs):
        raise RuntimeError("listener broke")

    report(client, message, "DELIVRD")
    message_status_changed.connect(broken_listener)
    try:
        assert reports_drain().parked == 1
    finally:
        message_status_changed.disconnect(broken_listener)

    page = operator_client.get("/admin/channels_app/reportinbox/", {"parked_at__isempty": "0"})

    assert page.status_code == 200
    assert str(message.id) in page.content.decode()
    assert "listener broke" in page.content.decode()


def test_a_report_on_a_message_purged_since_is_dropped(client, account):
    message = sent_message(account, destination="+41751231234", provider_message_id="m-1")
    report(client, message, "DELIVRD")
    Message.objects.filter(id=message.id).delete()

    summary = reports_drain()

    assert (summary.applied, summary.ignored) == (0, 1)
    assert not ReportInbox.objects.exists()


# ---- failover -------------------------------------------------------------------------------


def _sms_first_chain(auth_client):
    sms = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    whatsapp = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    body = {
        "sms": {"text": "hi"},
        "whatsapp": {"type": "regular", "regular": {"type": "text", "text": "hi"}},
        "destination": "+41751231234",
        "failover": {
            "type": "Timeout",
            "timeoutFailover": {
                "timeoutInSeconds": 20, "status": "Delivered", "trafficAccounts": [str(sms.id), str(whatsapp.id)],
            },
        },
    }
    response = auth_client.post("/api/v1/Message/send", body, format="json")
    assert response.status_code == 200, response.json()
    first, second = (Message.objects.get(id=i) for i in response.json())
    Message.objects.filter(id=first.id).update(status=Status.SENT, provider_message_id="m-1")
    first.refresh_from_db()
    return first, second


def test_a_batch_applied_delivery_before_the_deadline_cancels_the_next_hop(auth_client, client):
    first, second = _sms_first_chain(auth_client)
    report(client, first, "DELIVRD")

    assert reports_drain().applied_alone == 0

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.DELIVERED and first.failover_deadline is None
    assert second.status == Status.CANCELLED
    assert failover_sweep().claimed == 0


def test_a_batch_applied_failure_triggers_the_next_hop_at_once(auth_client, client):
    first, second = _sms_first_chain(auth_client)
    report(client, first, "UNDELIV", errorcode="034")

    assert reports_drain().applied_alone == 0

    second.refresh_from_db()
    assert second.status == Status.READY
    first.refresh_from_db()
    assert first.failover_deadline is None


@pytest.mark.django_db(transaction=True)
def test_a_message_moved_by_someone_else_during_the_batch_gets_its_report_applied_alone(client, account):
    message = sent_message(account, destination="+41751231234", status=Status.SENDING)
    report(client, message, "DELIVRD")
    # The dispatch worker marks the message Sent in a transaction of its own that commits only
    # after the drain has loaded the message as Sending: the batch's guarded move finds it changed.
    settings_dict = connection.settings_dict
    worker = psycopg.connect(
        dbname=settings_dict["NAME"], user=settings_dict["USER"], password=settings_dict["PASSWORD"],
        host=settings_dict["HOST"], port=settings_dict["PORT"],
    )
    worker.execute(f"UPDATE {Message._meta.db_table} SET status = %s WHERE id = %s", [Status.SENT, message.id])  # noqa: S608
    committer = threading.Timer(0.5, worker.commit)
    committer.start()
    try:
        summary = reports_drain()
    finally:
        committer.join()
        worker.close()

    assert (summary.applied, summary.applied_alone, summary.batches_one_by_one) == (1, 1, 0)
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert statuses(message) == [Status.DELIVERED]
