"""The admin's requeue action: a Failed message goes back to Ready through the state machine,
with an operator event in its history, is published for dispatch, and is sent again."""

from __future__ import annotations

import base64
import json

import pytest
import responses
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from accounts_app.models import Customer
from channels_app.models import Message
from channels_app.services.dispatch import messages_dispatch
from channels_app.services.dispatch_queue import DISPATCH_QUEUE
from channels_app.status import Status
from gateway.redis import get_redis
from tests.factories import MessageFactory, TrafficAccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_dispatch_queues")]

CHANGELIST = "/admin/channels_app/message/"
MITTO_OK = {"id": "mitto-second-try", "responseCode": 0, "responseText": "SMS sent", "to": "41751231234"}


def _queued_ids() -> list[str]:
    ids: list[str] = []
    for raw in get_redis().lrange(DISPATCH_QUEUE, 0, -1):
        args, _kwargs, _embed = json.loads(base64.b64decode(json.loads(raw)["body"]))
        ids.extend(args[0])
    return ids


def _requeue(operator_client, django_capture_on_commit_callbacks, *messages: Message):
    with django_capture_on_commit_callbacks(execute=True):
        return operator_client.post(
            CHANGELIST,
            {"action": "requeue_failed_messages", "_selected_action": [str(m.id) for m in messages]},
            follow=True,
        )


@responses.activate
def test_a_failed_message_is_requeued_recorded_and_sent_again(
    auth_client, operator_client, django_capture_on_commit_callbacks
):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")
    responses.post("https://mitto.test/sms", status=400, json={"responseCode": 4, "responseText": "Invalid sender"})
    accepted = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi", "sender": "B"}},
        format="json",
    )
    message = Message.objects.get(id=accepted.json()["messageId"])
    messages_dispatch([message.id])
    message.refresh_from_db()
    assert message.status == Status.FAILED
    get_redis().delete(DISPATCH_QUEUE)

    response = _requeue(operator_client, django_capture_on_commit_callbacks, message)

    assert "1 message(s) requeued for dispatch." in [str(m) for m in get_messages(response.wsgi_request)]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code, message.failed_at) == (Status.READY, 0, "", None)
    requeued = message.events.last()
    assert (requeued.status, requeued.source) == (Status.READY, "operator")
    assert requeued.detail["operator"] == "ops@example.com"
    assert _queued_ids() == [str(message.id)]

    responses.replace(responses.POST, "https://mitto.test/sms", json=MITTO_OK)
    messages_dispatch([message.id])

    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (Status.SENT, "mitto-second-try")
    history = list(message.events.values_list("status", "source"))
    assert history == [
        (Status.READY, "api"),
        (Status.FAILED, "dispatch"),
        (Status.READY, "operator"),
        (Status.SENT, "dispatch"),
    ]
    lookup = auth_client.get(f"/api/v1/Message/{message.id}").json()
    assert lookup["deliveryStatus"] == Status.SENT


def test_messages_that_are_not_failed_are_left_alone(operator_client, django_capture_on_commit_callbacks):
    delivered = MessageFactory(status=Status.DELIVERED)

    response = _requeue(operator_client, django_capture_on_commit_callbacks, delivered)

    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"{delivered.id} was not requeued: it is Delivered; only Failed messages are requeued." in notes
    delivered.refresh_from_db()
    assert delivered.status == Status.DELIVERED
    assert not delivered.events.exists()
    assert _queued_ids() == []


def test_a_failed_failover_hop_whose_next_hop_went_out_is_left_alone(
    operator_client, django_capture_on_commit_callbacks
):
    first = MessageFactory(status=Status.FAILED)
    Message.objects.filter(id=first.id).update(failover_chain_id=first.id, failover_position=0)
    first.refresh_from_db()
    MessageFactory(
        traffic_account=TrafficAccountFactory(customer=first.customer, channel="telegram"),
        failover_chain=first,
        failover_position=1,
        status=Status.SENT,
    )

    response = _requeue(operator_client, django_capture_on_commit_callbacks, first)

    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"{first.id} was not requeued: a later hop of its failover chain was already sent." in notes
    first.refresh_from_db()
    assert first.status == Status.FAILED
    assert _queued_ids() == []


def test_staff_without_the_change_permission_cannot_requeue(client, django_capture_on_commit_callbacks):
    viewer = Customer.objects.create_user("viewer@example.com", "viewer-passphrase", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_message"))
    client.force_login(viewer)
    failed = MessageFactory(status=Status.FAILED)

    page = client.get(CHANGELIST).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CHANGELIST, {"action": "requeue_failed_messages", "_selected_action": [str(failed.id)]})

    assert "requeue_failed_messages" not in page
    failed.refresh_from_db()
    assert failed.status == Status.FAILED
