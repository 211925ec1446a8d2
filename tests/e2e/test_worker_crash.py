"""A worker killed mid-chunk: its claimed messages are released within seconds and sent by
another worker, and nothing already sent is sent again."""

from __future__ import annotations

import time

import pytest

from channels_app.models import Message
from channels_app.status import Status
from tests.e2e.stack import FakeTelegram, own_stack, wait_until
from tests.factories import TrafficAccountFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

TOKEN = "222:crash"
COUNT = 200


@pytest.fixture
def provider():
    fake = FakeTelegram(delays={TOKEN: 0.05}).start()
    yield fake
    fake.stop()


def test_a_killed_workers_claims_are_sent_by_another_worker_within_seconds(auth_client, provider):
    account = TrafficAccountFactory(
        customer=auth_client.customer,
        channel="telegram",
        base_url=provider.url,
        credentials={"bot_token": TOKEN, "secret_token": "s"},
    )
    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {
            "trafficAccountId": str(account.id),
            "destinations": [str(2_000_000 + i) for i in range(COUNT)],
            "telegram": {"text": {"message": "hello"}},
        },
        format="json",
    )
    assert response.status_code == 200
    ids = [m["messageId"] for m in response.json()["messages"]]
    messages = Message.objects.filter(id__in=ids)

    with own_stack() as stack:
        doomed = stack.worker("doomed", queues="dispatch", concurrency=2)
        stack.worker("housekeeping", queues="housekeeping", concurrency=2)
        stack.beat()
        stack.wait_ready()
        for start in range(0, COUNT, 100):
            stack.publish_dispatch(ids[start : start + 100], queue="dispatch")
        wait_until(lambda: messages.filter(status=Status.SENT).count() >= 20, timeout=60, what=stack.logs)
        stack.worker("survivor", queues="dispatch", concurrency=2)
        stack.wait_ready()
        # Until the kill every claim is the doomed worker's: it holds both chunks (one per thread).
        doomed_ids = set(messages.filter(status=Status.SENDING).values_list("claimed_by", flat=True))
        assert doomed_ids, "the kill must land mid-chunk"

        doomed.kill()
        killed_at = time.time()
        sent_before_kill = set(messages.filter(status=Status.SENT).values_list("destination", flat=True))

        released_after = wait_until(
            lambda: not messages.filter(status=Status.SENDING, claimed_by__in=doomed_ids).exists(),
            timeout=60,
            interval=0.2,
            what=stack.logs,
        )
        finished_after = wait_until(
            lambda: not messages.exclude(status=Status.SENT).exists(),
            timeout=90,
            interval=0.3,
            what=lambda: f"{messages.exclude(status=Status.SENT).count()} not Sent\n{stack.logs()}",
        )

    # Measured on this 2-core machine under load: released 9.2 s after the kill, all Sent after 10.1 s.
    assert released_after < 30, released_after
    assert finished_after < 45, finished_after
    requests = provider.requests_per_chat(TOKEN)
    assert set(requests) == {str(2_000_000 + i) for i in range(COUNT)}
    repeated = {chat for chat, count in requests.items() if count > 1}
    # At-least-once: only a send in flight at the kill (the provider had it, the worker had not
    # recorded its answer) can go out twice: at most two per killed thread, none recorded Sent.
    assert len(repeated) <= 4, repeated
    assert not repeated & sent_before_kill
    assert all(provider.first_arrival(TOKEN, chat) <= killed_at for chat in repeated)

