"""Ambiguous provider timeouts: after a read timeout the message waits for a report instead of
being sent again at once; a report arriving meanwhile means it is never sent twice.

The provider is a real local HTTP server that takes longer to answer than the read timeout,
yet processes the request (as the frozen provider in production did)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
import responses
from django.utils import timezone

from channels_app.models import DispatchAttempt, Message
from channels_app.services.dispatch import messages_claim, messages_dispatch
from channels_app.services.dispatch_recheck import claim_still_sendable
from channels_app.services.report_drain import reports_drain
from channels_app.status import Status
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

MITTO_OK = {"id": "715118ef01aa4480bbd67324a0459b0b", "responseCode": 0, "responseText": "SMS sent"}


class SlowMitto:
    """Answers every SMS after ``delay`` seconds, keeping what it received."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append(body)
                threading.Event().wait(outer.delay)
                answer = json.dumps(MITTO_OK).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the gateway gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> SlowMitto:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[SlowMitto]:
    with SlowMitto() as running:
        yield running


@pytest.fixture
def account(auth_client, provider):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url=provider.url)


@pytest.fixture(autouse=True)
def _short_read_timeout(settings):
    settings.PROVIDER_READ_TIMEOUT = 0.3
    settings.AMBIGUOUS_RETRY_DELAY_SECONDS = 120


def _send(client, account) -> str:
    response = client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}},
        format="json",
    )
    assert response.status_code == 200
    return response.json()["messageId"]


def _make_due(message_id: str) -> None:
    Message.objects.filter(id=message_id).update(available_at=timezone.now() - timedelta(seconds=1))


def _deliver(client, provider: SlowMitto, message_id: str):
    """The provider's DLR for what it received, to the callback URL the gateway gave it, and the
    drain that applies the stored report (a Celery task in production, milliseconds later)."""
    callback = urlsplit(provider.received[0]["callback"])
    response = client.post(
        f"{callback.path}?{callback.query}",
        {"messageId": MITTO_OK["id"], "status": "DELIVERED", "reference": message_id},
        content_type="application/json",
    )
    reports_drain()
    return response


def test_a_read_timeout_waits_for_a_report_and_a_report_means_no_second_send(auth_client, client, account, provider):
    provider.delay = 0.6  # longer than the read timeout: the gateway gives up, the provider sends
    message_id = _send(auth_client, account)

    messages_dispatch([message_id])

    message = Message.objects.get(id=message_id)
    attempt = DispatchAttempt.objects.get(message_id=message_id)
    assert message.status == Status.READY
    assert attempt.outcome == "ambiguous"
    assert message.available_at >= timezone.now() + timedelta(seconds=110)  # waits ~AMBIGUOUS_RETRY_DELAY
    assert messages_dispatch([message_id]).claimed == 0  # not due: nothing goes out again
    assert len(provider.received) == 1

    assert _deliver(client, provider, message_id).status_code == 200  # the report arrives meanwhile
    _make_due(message_id)
    assert messages_dispatch([message_id]).claimed == 0

    assert len(provider.received) == 1
    assert Message.objects.get(id=message_id).status == Status.DELIVERED


def test_without_a_report_the_message_is_retried_once_the_delay_has_passed(auth_client, account, provider):
    provider.delay = 0.6
    message_id = _send(auth_client, account)
    messages_dispatch([message_id])
    provider.delay = 0.0  # the provider is back

    _make_due(message_id)
    messages_dispatch([message_id])

    assert len(provider.received) == 2
    message = Message.objects.get(id=message_id)
    assert (message.status, message.provider_message_id) == (Status.SENT, MITTO_OK["id"])
    assert list(DispatchAttempt.objects.filter(message_id=message_id).values_list("outcome", flat=True)) == [
        "ambiguous", "sent",
    ]


def test_a_report_between_the_claim_and_the_send_stops_the_resend(auth_client, client, account, provider):
    provider.delay = 0.6
    message_id = _send(auth_client, account)
    messages_dispatch([message_id])
    _make_due(message_id)
    [claimed] = messages_claim([message_id])  # a worker took the retry...

    assert _deliver(client, provider, message_id).status_code == 200  # ...and the report lands first

    assert claim_still_sendable(claimed) is False
    message = Message.objects.get(id=message_id)
    assert (message.status, message.claimed_at) == (Status.DELIVERED, None)
    assert len(provider.received) == 1


@responses.activate
def test_a_connect_timeout_is_retried_without_the_ambiguous_wait(auth_client, settings):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")
    responses.post("https://mitto.test/sms", body=requests.ConnectTimeout("no route"))
    message_id = _send(auth_client, account)

    messages_dispatch([message_id])

    message = Message.objects.get(id=message_id)
    attempt = DispatchAttempt.objects.get(message_id=message_id)
    assert attempt.outcome == "unavailable"
    assert message.available_at <= timezone.now() + timedelta(seconds=settings.DISPATCH_RETRY_BASE_SECONDS)


@responses.activate
def test_gbm_deduplicates_on_our_id_so_its_read_timeout_retries_normally(auth_client, settings):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="gbm", base_url="https://gbm.test")
    responses.post(
        "https://gbm.test/v1/conversations/bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0/messages",
        body=requests.ReadTimeout("slow"),
    )
    response = auth_client.post(
        "/api/v1/Message/send",
        {
            "trafficAccountId": str(account.id),
            "destination": "bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0",
            "gbm": {"text": {"message": "hi"}, "representative": {"representativeType": "BOT"}},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    message_id = response.json()["messageId"]

    messages_dispatch([message_id])

    message = Message.objects.get(id=message_id)
    assert message.status == Status.READY
    attempt = DispatchAttempt.objects.get(message_id=message_id)
    assert attempt.outcome == "unavailable" and "may have received" in attempt.error
    assert message.available_at <= timezone.now() + timedelta(seconds=settings.DISPATCH_RETRY_BASE_SECONDS)
