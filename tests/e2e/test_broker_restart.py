"""Workers survive the broker restarting under them, and every accepted message still goes out."""

from __future__ import annotations

import time

import pytest

from channels_app.models import Message
from channels_app.status import Status
from tests.e2e.stack import FakeTelegram, own_stack, wait_until
from tests.factories import TrafficAccountFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

TOKEN = "111:restart"


@pytest.fixture
def provider():
    fake = FakeTelegram(delays={TOKEN: 0.05}).start()
    yield fake
    fake.stop()


def _accept(auth_client, account, count: int) -> list[str]:
    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {
            "trafficAccountId": str(account.id),
            "destinations": [str(1_000_000 + i) for i in range(count)],
            "telegram": {"text": {"message": "hello"}},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return [m["messageId"] for m in response.json()["messages"]]


def test_a_worker_stays_up_through_broker_restarts_and_every_message_is_sent(auth_client, provider):
    account = TrafficAccountFactory(
        customer=auth_client.customer,
        channel="telegram",
        base_url=provider.url,
        credentials={"bot_token": TOKEN, "secret_token": "s"},
    )
    ids = _accept(auth_client, account, 400)
    with own_stack() as stack:
        worker = stack.worker("dispatch", queues="dispatch,dispatch_priority", concurrency=4)
        stack.worker("housekeeping", queues="housekeeping", concurrency=2)
        stack.beat()
        stack.wait_ready()
        for start in range(0, len(ids), 100):
            stack.publish_dispatch(ids[start : start + 100], queue="dispatch")
        messages = Message.objects.filter(id__in=ids)
        wait_until(lambda: messages.filter(status=Status.SENT).exists(), timeout=60, what=stack.logs)

        for _ in range(3):
            stack.redis.kill()
            time.sleep(2)  # the outage; what is asserted is polled for below
            stack.redis.start()
            time.sleep(1.5)

        wait_until(
            lambda: not messages.exclude(status=Status.SENT).exists(),
            timeout=120,
            interval=0.5,
            what=lambda: f"{messages.exclude(status=Status.SENT).count()} not Sent\n{stack.logs()}",
        )
        assert worker.alive(), worker.log()[-4000:]
        assert "Unrecoverable error" not in worker.log()
    sent = provider.requests_per_chat(TOKEN)
    assert len(sent) == 400
