"""Every channel end to end: API -> worker -> adapter -> sandbox -> real-format callback ->
status -> the customer's signed webhook. And a two-hop failover when a provider never reports."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db.models import Count
from standardwebhooks.webhooks import Webhook as StandardWebhook

from accounts_app.models import TrafficAccount
from channels_app.models import Message, MessageEvent
from channels_app.services.failover import failover_sweep
from channels_app.status import Status
from tests.e2e.conftest import wait_until
from tests.factories import TrafficAccountFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

FAILOVER_BULK = int(os.environ.get("E2E_FAILOVER_BULK", "10000"))

CREDENTIALS: dict[str, dict[str, str]] = {
    "sms": {"api_key": "e2e-mitto-key"},
    "whatsapp": {
        "access_token": "e2e-wa-token",
        "phone_number_id": "900000000000001",
        "waba_id": "900000000000002",
        "app_secret": "e2e-wa-secret",
        "verify_token": "e2e-verify",
    },
    "viber": {"auth_token": "e2e-viber-token"},
    "gbm": {"access_token": "e2e-gbm-token", "client_token": "e2e-gbm-client-token"},
    "telegram": {"bot_token": "900001:e2e-telegram-token", "secret_token": "e2e-tg-secret"},
}

SENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "sms": ("+41791110001", {"text": "Hi, this is test msg.", "sender": "Brand"}),
    "whatsapp": ("+41791110002", {"type": "regular", "regular": {"type": "text", "text": "Hello"}}),
    "viber": ("01234567890A=", {"type": "session", "text": "Hi, how can I help you today?"}),
    "gbm": ("bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0", {"text": {"message": "Hi, this is test message."}}),
    "telegram": ("1861312834", {"silent": True, "text": {"parseMode": "Html", "message": "Hi"}}),
}


class WebhookReceiver:
    """The customer's webhook endpoint: records every POST with its headers and raw body."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.server.shutdown()


def _account(customer, channel: str, sandbox, gateway_url: str) -> TrafficAccount:
    account = TrafficAccountFactory(
        customer=customer, channel=channel, base_url=sandbox.url, credentials=dict(CREDENTIALS[channel])
    )
    creds = CREDENTIALS[channel]
    if channel == "whatsapp":
        sandbox.client.register_whatsapp(
            creds["phone_number_id"],
            webhook_url=f"{gateway_url}/callbacks/whatsapp/{account.id}",
            app_secret=creds["app_secret"],
            waba_id=creds["waba_id"],
        )
    elif channel == "gbm":
        sandbox.client.register_gbm(
            webhook_url=f"{gateway_url}/callbacks/gbm/{account.id}", client_token=creds["client_token"]
        )
    elif channel == "viber":
        sandbox.client.register_viber(creds["auth_token"], url=f"{gateway_url}/callbacks/viber?ta={account.id}")
    elif channel == "telegram":
        sandbox.client.register_telegram(
            creds["bot_token"],
            url=f"{gateway_url}/callbacks/telegram?ta={account.id}",
            secret_token=creds["secret_token"],
        )
    return account


def _subscribe(client, receiver: WebhookReceiver, account: TrafficAccount) -> str:
    created = client.post(
        "/api/v1/Webhook",
        {"name": "ops", "url": receiver.url, "triggers": ["Delivered", "Failed", "Read", "UserMessage"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    webhook = created.json()
    applied = client.post(
        "/api/v1/WebhookTrafficAccount/ApplyWebhookForTrafficAccount",
        {"webhookId": webhook["id"], "trafficAccountId": str(account.id)},
        format="json",
    )
    assert applied.status_code in (200, 201, 204), applied.content
    return webhook["secret"]


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "viber", "gbm", "telegram"])
def test_a_message_reaches_its_final_status_and_the_signed_webhook(
    channel, auth_client, sandbox, gateway_url, celery_worker, receiver, settings
):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receiver listens on loopback
    account = _account(auth_client.customer, channel, sandbox, gateway_url)
    secret = _subscribe(auth_client, receiver, account)
    destination, content = SENDS[channel]

    sent = auth_client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": destination, channel: content},
        format="json",
    )
    assert sent.status_code == 200, sent.json()
    message_id = sent.json()["messageId"]

    final = Status.SENT if channel == "telegram" else Status.DELIVERED  # bots get no receipts
    wait_until(lambda: Message.objects.get(id=message_id).status == final, timeout=30)
    body = auth_client.get(f"/api/v1/Message/{message_id}").json()
    expected = ["Ready", "Sent", "Delivered"][: 2 if channel == "telegram" else 3]
    assert [h["status"] for h in body["history"]][:3] == expected, body["history"]
    assert body["providerMessageId"]
    if channel == "telegram":
        return

    wait_until(lambda: any(e.get("messageId") == message_id for e in receiver.events()), timeout=30)
    headers, raw = next((h, b) for h, b in receiver.received if json.loads(b).get("messageId") == message_id)
    verified = StandardWebhook(secret).verify(raw, headers)
    assert verified["eventType"] == "Delivered"
    assert verified["trafficAccountId"] == str(account.id)


def test_an_inbound_user_message_reaches_the_webhook(
    auth_client, sandbox, gateway_url, celery_worker, receiver, settings
):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    account = _account(auth_client.customer, "telegram", sandbox, gateway_url)
    secret = _subscribe(auth_client, receiver, account)

    sandbox.client.inject_inbound(
        "telegram", account=CREDENTIALS["telegram"]["bot_token"], sender="1861312834", text="Where is my order?"
    )

    wait_until(lambda: any(e.get("eventType") == "UserMessage" for e in receiver.events()), timeout=30)
    headers, raw = next((h, b) for h, b in receiver.received if json.loads(b).get("eventType") == "UserMessage")
    event = StandardWebhook(secret).verify(raw, headers)
    inbound = Message.objects.get(id=event["messageId"])
    assert inbound.direction == Message.INBOUND
    assert inbound.conversation.user_identifier == "1861312834"
    assert "Where is my order?" in json.dumps(event)


def test_two_hop_failover_fires_within_two_seconds_of_its_timeout(auth_client, sandbox, gateway_url, celery_worker):
    whatsapp = _account(auth_client.customer, "whatsapp", sandbox, gateway_url)
    sms = _account(auth_client.customer, "sms", sandbox, gateway_url)
    # The provider accepts, then never reports (behaviours are per destination, so the SMS hop
    # does not report either: it is enough that it goes out).
    sandbox.client.set_behaviour("41791110009", report="none")
    stop = threading.Event()

    def beat() -> None:  # what Celery beat does every half second in production
        from django.db import connection

        try:
            while not stop.is_set():
                failover_sweep()
                stop.wait(0.2)
        finally:
            connection.close()

    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    try:
        ids = auth_client.post(
            "/api/v1/Message/send",
            {
                "destination": "+41791110009",
                "whatsapp": {"type": "regular", "regular": {"type": "text", "text": "code 1234"}},
                "sms": {"text": "code 1234"},
                "failover": {
                    "type": "Timeout",
                    "timeoutFailover": {
                        "timeoutInSeconds": 2,
                        "status": "Delivered",
                        "trafficAccounts": [str(whatsapp.id), str(sms.id)],
                    },
                },
            },
            format="json",
        ).json()
        first = Message.objects.get(id=ids[0])
        deadline = first.failover_deadline

        wait_until(lambda: Message.objects.get(id=ids[1]).status == Status.SENT, timeout=30)
    finally:
        stop.set()
        ticker.join()

    second = Message.objects.get(id=ids[1])
    assert second.triggered_at - deadline < timedelta(seconds=2)
    assert second.triggered_at >= deadline  # not before the timeout
    assert Message.objects.get(id=ids[0]).status == Status.SENT


def test_a_ten_thousand_destination_failover_bulk_fires_each_hop_once(auth_client, sandbox, gateway_url, celery_worker):
    whatsapp = _account(auth_client.customer, "whatsapp", sandbox, gateway_url)
    sms = _account(auth_client.customer, "sms", sandbox, gateway_url)
    destinations = [f"+4178{i:07d}" for i in range(FAILOVER_BULK)]
    sandbox.client.update_settings(report_delay_seconds=3600)  # no report in time...
    for number in destinations[:100]:  # ...except for these, which report at once
        sandbox.client.set_behaviour(number.lstrip("+"), report="delivered", report_delay_seconds=0)
    timeout = 20
    stop = threading.Event()

    def beat() -> None:  # Celery beat's failover sweep, every half second
        from django.db import connection

        try:
            while not stop.is_set():
                failover_sweep()
                stop.wait(0.5)
        finally:
            connection.close()

    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    try:
        response = auth_client.post(
            "/api/v1.1/Messages/sendbulk",
            {
                "destinations": destinations,
                "whatsapp": {"type": "regular", "regular": {"type": "text", "text": "code 1234"}},
                "sms": {"text": "code 1234"},
                "failover": {
                    "type": "Timeout",
                    "timeoutFailover": {
                        "timeoutInSeconds": timeout,
                        "status": "Delivered",
                        "trafficAccounts": [str(whatsapp.id), str(sms.id)],
                    },
                },
            },
            format="json",
        )
        assert response.status_code == 200
        chains = [e["messageIds"] for e in response.json()["messages"]]
        second_hops = Message.objects.filter(id__in=[c[1] for c in chains])
        wait_until(
            lambda: not second_hops.filter(status__in=[Status.SCHEDULED, Status.READY, Status.SENDING]).exists(),
            timeout=1200,
            interval=2.0,
            describe=lambda: list(second_hops.values_list("status").annotate(n=Count("id")).order_by()),
        )
    finally:
        stop.set()
        ticker.join()

    # Every chain fired exactly when it should: the second hop went out if and only if the first
    # was not delivered by its deadline, and at most once.
    first_hops = {str(m.id): m for m in Message.objects.filter(id__in=[c[0] for c in chains])}
    fired = set(
        map(
            str,
            MessageEvent.objects.filter(message__in=second_hops, source="failover", status=Status.READY).values_list(
                "message_id", flat=True
            ),
        )
    )
    events_per_hop = MessageEvent.objects.filter(message__in=second_hops, source="failover", status=Status.READY)
    assert events_per_hop.count() == len(fired)  # no hop triggered twice
    for first_id, second_id in chains:
        first = first_hops[first_id]
        deadline = first.created_at + timedelta(seconds=timeout)
        if first.delivered_at is None:
            assert second_id in fired, "never reported: the next hop must go out"
        elif first.updated_at < deadline:  # when the gateway learned of the delivery
            assert second_id not in fired, "delivered in time: no failover"
        # Delivered after the deadline: whichever came first, the report or the sweeper's claim,
        # wins; both outcomes are right, and the exactly-once checks above still apply.
    assert sandbox.client.stats()["requests"]["sms"] == len(fired)
    assert len(fired) >= FAILOVER_BULK - 100
