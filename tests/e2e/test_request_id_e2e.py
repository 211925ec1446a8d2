"""A request id sent with Message/send reaches the worker's log line for that message, and the
delivery report that follows logs the same message id: one message's story joins across web,
worker and callback."""

from __future__ import annotations

import pytest

from channels_app.models import Message
from channels_app.status import Status
from tests.e2e.conftest import wait_until
from tests.factories import TrafficAccountFactory
from tests.log_capture import captured_json_logs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_the_request_id_of_a_send_is_in_the_workers_dispatch_line(auth_client, sandbox, gateway_url, celery_worker):
    account = TrafficAccountFactory(
        customer=auth_client.customer, channel="sms", base_url=sandbox.url, credentials={"api_key": "e2e-mitto-key"}
    )
    with captured_json_logs() as logs:
        sent = auth_client.post(
            "/api/v1/Message/send",
            {"trafficAccountId": str(account.id), "destination": "+41791110001", "sms": {"text": "Hi"}},
            format="json",
            HTTP_X_REQUEST_ID="trace-7f3a9c",
        )
        assert sent.status_code == 200, sent.json()
        assert sent["X-Request-ID"] == "trace-7f3a9c"
        message_id = sent.json()["messageId"]
        wait_until(lambda: Message.objects.get(id=message_id).status == Status.DELIVERED, timeout=30)
        wait_until(
            lambda: any(line["event"] == "report applied" for line in logs.lines()), timeout=10, describe=logs.lines
        )

    lines = [line for line in logs.lines() if line.get("message_id") == message_id]
    dispatched = [line for line in lines if line["event"] == "dispatched"]
    assert len(dispatched) == 1, lines
    assert dispatched[0]["request_id"] == "trace-7f3a9c"
    assert dispatched[0]["task"] == "channels.dispatch_messages"  # written by the worker, inside the task
    assert dispatched[0]["outcome"] == "sent" and dispatched[0]["traffic_account_id"] == str(account.id)
    report = next(line for line in lines if line["event"] == "report applied")
    assert report["status"] == "Delivered" and report["traffic_account_id"] == str(account.id)
    assert report["request_id"] != "trace-7f3a9c"  # the provider's callback is a request of its own
