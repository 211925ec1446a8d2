"""The benchmark's fake Mitto provider speaks the wire format of the real adapter and endpoint:
a send through ``MittoSmsAdapter`` is accepted and parsed, and the delivery report it posts back
is accepted by the gateway's DLR callback endpoint."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from bench.fake_client import FakeProviderClient
from channels_app.callbacks.tokens import callback_url_with_token, issue_callback_token
from channels_app.models import Message
from channels_app.providers.base import OutboundMessage, ProviderAccount, ProviderConfigError
from channels_app.providers.mitto_sms.adapter import MittoSmsAdapter
from channels_app.services.report_drain import reports_drain
from channels_app.status import Status
from tests.channels_app.callbacks.helpers import sent_message
from tests.factories import TrafficAccountFactory

DLR_PATH = "/callbacks/sms/dlr"


def adapter_for(base_url: str, api_key: str = "bench-key") -> MittoSmsAdapter:
    account = ProviderAccount(id=uuid.uuid4(), channel="sms", base_url=base_url + "/",
                              credentials={"api_key": api_key}, sender="BenchBrand", test_mode=False)
    return MittoSmsAdapter(account, session=requests.Session())


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_send_through_the_real_adapter_is_accepted_with_a_mitto_id(fake_provider) -> None:
    message = OutboundMessage(id=uuid.uuid4(), destination="+41751231234",
                              content={"text": "Your code is 123456", "sender": "BenchBrand"})

    result = adapter_for(fake_provider.url).send(message)

    assert re.fullmatch(r"[0-9a-f]{32}", result.provider_message_id)
    assert result.exchange.status_code == 200
    assert result.exchange.url == f"{fake_provider.url}/sms"
    stats = fake_provider.stats()
    assert stats["counts"]["sends"] == 1
    assert stats["pending_reports"] == 0  # no callback URL, no report


def test_a_send_without_api_key_is_refused_as_mitto_refuses_it(fake_provider) -> None:
    message = OutboundMessage(id=uuid.uuid4(), destination="+41751231234", content={"text": "Hi"})

    with pytest.raises(ProviderConfigError):
        adapter_for(fake_provider.url, api_key="").send(message)


@pytest.mark.django_db
def test_its_delivery_report_reaches_the_callback_url_and_the_gateway_delivers_the_message(
    fake_provider, recording_server, settings
) -> None:
    settings.MITTO_DLR_SIGNING_KEYS = ["bench-test-dlr-key-0123456789abcdef0123456789"]
    account = TrafficAccountFactory(channel="sms", base_url=fake_provider.url)
    message_id = uuid.uuid4()
    token_path = callback_url_with_token(DLR_PATH, issue_callback_token(subject=str(message_id), purpose="dlr"))
    outbound = OutboundMessage(id=message_id, destination="+41751231234", content={"text": "Hi"},
                               callback_url=f"{recording_server.url}{token_path}")

    # given a message the fake accepted with the gateway's signed callback URL
    result = adapter_for(fake_provider.url).send(outbound)
    message = sent_message(account, destination="+41751231234", message_id=message_id,
                           provider_message_id=result.provider_message_id)

    # when the fake posts its report (to the recording server standing in for the gateway)
    assert wait_until(lambda: len(recording_server.received) == 1)
    path, _, body = recording_server.received[0]
    assert path == token_path
    assert recording_server.content_types[0] == "application/json"
    assert json.loads(body) == {"messageId": result.provider_message_id, "status": "Delivered", "errorcode": "0"}
    assert parse_qs(urlsplit(path).query)["token"]

    # then the same request against the gateway's DLR endpoint delivers the message (the report is
    # committed to the inbox before the 200 and applied by the drain)
    response = Client().post(path, data=body, content_type=recording_server.content_types[0])
    assert response.status_code == 200
    reports_drain()
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert Message.objects.get(id=message_id).delivered_at is not None
    assert wait_until(lambda: fake_provider.stats()["counts"].get("reports_posted") == 1)


def test_hold_keeps_reports_back_and_reset_drops_them(fake_provider, recording_server) -> None:
    control = FakeProviderClient(fake_provider.url)
    control.update_settings(hold=True)
    outbound = OutboundMessage(id=uuid.uuid4(), destination="+41751231234", content={"text": "Hi"},
                               callback_url=f"{recording_server.url}{DLR_PATH}?token=t")

    adapter_for(fake_provider.url).send(outbound)
    time.sleep(0.3)

    assert recording_server.received == []
    assert control.stats()["held_reports"] == 1
    control.reset()
    control.update_settings(hold=False)
    time.sleep(0.3)
    assert recording_server.received == []
    assert control.stats()["held_reports"] == 0


def test_the_webhook_receiver_counts_signed_events(fake_provider) -> None:
    control = FakeProviderClient(fake_provider.url)
    headers = {"webhook-id": "e1", "webhook-timestamp": "1", "webhook-signature": "v1,abc"}

    signed = requests.post(control.webhook_url(), json={"eventType": "Delivered"}, headers=headers, timeout=5)
    unsigned = requests.post(control.webhook_url(), json={"eventType": "Delivered"}, timeout=5)

    assert (signed.status_code, unsigned.status_code) == (204, 204)
    stats = control.stats()
    assert stats["counts"]["webhooks"] == 2
    assert stats["counts"]["webhooks_signed"] == 1
    assert stats["webhook_events"] == {"Delivered": 2}
    assert stats["last_webhook_at"] >= stats["first_webhook_at"]


@pytest.mark.django_db
def test_a_bulk_send_gets_one_id_per_receiver_and_each_report_delivers_its_message(
    fake_provider, recording_server, settings
) -> None:
    settings.MITTO_DLR_SIGNING_KEYS = ["bench-test-dlr-key-0123456789abcdef0123456789"]
    account = TrafficAccountFactory(channel="sms", base_url=fake_provider.url)
    token = issue_callback_token(subject=str(account.id), purpose="dlr_bulk")
    token_path = callback_url_with_token("/callbacks/sms/dlr-bulk", token)
    outbound = [
        OutboundMessage(id=uuid.uuid4(), destination=f"+4175123123{i}", content={"text": "Hi", "sender": "Bench"})
        for i in range(3)
    ]

    # given three messages the fake accepted in one /smsbulk call
    results = adapter_for(fake_provider.url).send_many(outbound, callback_url=f"{recording_server.url}{token_path}")
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", r.provider_message_id)
               for r in results)
    assert fake_provider.stats()["counts"]["bulk_calls"] == 1
    messages = [
        sent_message(account, destination=o.destination, message_id=o.id, provider_message_id=r.provider_message_id)
        for o, r in zip(outbound, results, strict=True)
    ]

    # when the fake posts one report per receiver to the call's one URL
    assert wait_until(lambda: len(recording_server.received) == 3)

    # then each of them, replayed against the gateway, delivers its own message
    for path, _, body in recording_server.received:
        assert path == token_path
        assert Client().post(path, data=body, content_type="application/json").status_code == 200
    reports_drain()
    for message in messages:
        message.refresh_from_db()
        assert message.status == Status.DELIVERED
