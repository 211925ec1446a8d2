"""Dispatch of same-text SMS through Mitto's /smsbulk: one provider call per group of a chunk,
every message Sent with its own provider id and attempt, then Delivered by the sandbox's reports
posted to the call's one account-wide callback URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import responses
from django.test import Client

from channels_app.models import DispatchAttempt, Message
from channels_app.services.dispatch import messages_dispatch
from channels_app.services.report_drain import reports_drain
from channels_app.status import Status
from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.factories import TrafficAccountFactory
from tests.sandbox.conftest import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_dispatch_queues")]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox(report_delay=0.05, callback_backoff=0.05, callback_attempts=3) as running:
        yield running


@pytest.fixture
def control(sandbox: LocalSandbox) -> SandboxClient:
    assert sandbox.client is not None
    sandbox.client.reset()
    return sandbox.client


@pytest.fixture
def gateway_stand_in(settings) -> Iterator[Receiver]:
    """Where the sandbox posts reports (the gateway's public URL); the test replays them."""
    receiver = Receiver()
    settings.PUBLIC_BASE_URL = receiver.url
    yield receiver
    receiver.stop()


def _sendbulk(auth_client, account, destinations: list[str], text: str = "Your code is 4711") -> list[Message]:
    response = auth_client.post(
        "/api/v1.1/Messages/sendbulk",
        {"trafficAccountId": str(account.id), "destinations": destinations, "sms": {"text": text, "sender": "Brand"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return list(Message.objects.filter(bulk_id=response.json()["bulkId"]))


def test_a_chunk_of_50_same_text_sms_is_one_provider_call_then_all_are_delivered(
    auth_client, sandbox, control, gateway_stand_in
):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url=sandbox.url)
    messages = _sendbulk(auth_client, account, [f"+4179123{i:04d}" for i in range(50)])

    summary = messages_dispatch([m.id for m in messages])

    assert summary.claimed == 50
    sent = Message.objects.filter(id__in=[m.id for m in messages])
    assert {m.status for m in sent} == {Status.SENT}
    assert len({m.provider_message_id for m in sent}) == 50
    # One attempt per message, each recording the same single call of 50 destinations.
    attempts = list(DispatchAttempt.objects.filter(message__in=messages))
    assert len(attempts) == 50
    assert all(a.number == 1 and a.outcome == "sent" and a.http_status == 200 for a in attempts)
    assert {a.request["url"] for a in attempts} == {f"{sandbox.url}/smsbulk"}
    assert {a.request["body"]["toCount"] for a in attempts} == {50}
    assert all(a.request["headers"]["X-Mitto-API-Key"] == "***" for a in attempts)
    by_id = {m.id: m for m in sent}
    assert all(a.request["body"]["to"] == by_id[a.message_id].destination.lstrip("+") for a in attempts)

    reports = gateway_stand_in.wait_for(50, timeout=10)
    for report in reports:
        assert report.path == "/callbacks/sms/dlr-bulk"
        response = Client().post(
            f"{report.path}?{urlencode(report.query)}", data=report.body, content_type="application/json"
        )
        assert response.status_code == 200

    reports_drain()  # each report was stored before its 200; the drain applies them
    assert {m.status for m in Message.objects.filter(id__in=[m.id for m in messages])} == {Status.DELIVERED}


@responses.activate
def test_different_texts_go_one_by_one_and_a_test_mode_account_never_calls_the_provider(auth_client):
    live = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")
    simulated = TrafficAccountFactory(
        customer=auth_client.customer, channel="sms", base_url="https://mitto.test", test_mode=True
    )
    responses.post("https://mitto.test/sms", json={"id": "one", "responseCode": 0})
    first = _sendbulk(auth_client, live, ["+41791230001"], text="first")
    second = _sendbulk(auth_client, live, ["+41791230002"], text="second")
    quiet = _sendbulk(auth_client, simulated, ["+41791230003", "+41791230004"])

    messages_dispatch([m.id for m in first + second + quiet])

    assert [c.request.url for c in responses.calls] == ["https://mitto.test/sms"] * 2
    assert {m.status for m in Message.objects.filter(id__in=[m.id for m in first + second])} == {Status.SENT}
    assert all(m.status != Status.READY for m in Message.objects.filter(id__in=[m.id for m in quiet]))


@responses.activate
def test_a_whole_call_outage_retries_every_message_of_the_call_and_counts_once(auth_client, settings):
    settings.MITTO_BULK_MAX_DESTINATIONS = 3
    settings.DISPATCH_BREAKER_FAILURES = 3  # three failed messages, but only two failed calls
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")
    responses.post("https://mitto.test/smsbulk", status=503, json={"responseText": "down"})
    messages = _sendbulk(auth_client, account, [f"+4179123000{i}" for i in range(5)])

    summary = messages_dispatch([m.id for m in messages])

    # groups of at most 3: two calls for five messages, the breaker not opened by the first
    assert summary.parked == 0
    assert [len(json.loads(c.request.body)["to"].split(",")) for c in responses.calls] == [3, 2]
    stored = Message.objects.filter(id__in=[m.id for m in messages])
    assert {m.status for m in stored} == {Status.READY}
    assert {m.error_code for m in stored} == {"http_503"}
    assert DispatchAttempt.objects.filter(message__in=messages, outcome="unavailable").count() == 5
