"""Deactivation is a kill switch: nothing more is sent, pending messages are cancelled with a
reason, templates refuse, and reports on what was sent before are still recorded."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts_app.models import Customer, TrafficAccount
from channels_app.models import Message
from channels_app.services.dispatch import messages_dispatch
from channels_app.services.dispatch_recheck import RECHECK_AFTER_SECONDS
from channels_app.services.failover import failover_sweep
from channels_app.status import Status
from channels_app.tasks import cancel_pending_of_inactive
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

MITTO_URL = "https://mitto.test"
WHATSAPP = {"type": "regular", "regular": {"type": "text", "text": "hi"}}


def _send_sms(client, account) -> Message:
    response = client.post(
        "/api/v1/Message/send",
        {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return Message.objects.get(id=response.json()["messageId"])


def _chain(client, accounts, *, timeout=20) -> list[Message]:
    response = client.post(
        "/api/v1/Message/send",
        {
            "destination": "+41751231234",
            "whatsapp": WHATSAPP,
            "sms": {"text": "hi"},
            "failover": {
                "type": "Timeout",
                "timeoutFailover": {
                    "timeoutInSeconds": timeout,
                    "status": "Delivered",
                    "trafficAccounts": [str(a.id) for a in accounts],
                },
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    return [Message.objects.get(id=i) for i in response.json()]


@pytest.fixture
def sms_account(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url=MITTO_URL)


@pytest.fixture
def whatsapp_account(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp", base_url="https://wa.test")


def _statuses(*messages: Message) -> list[str]:
    return [Message.objects.get(id=m.id).status for m in messages]


@responses.activate
def test_the_command_cancels_a_traffic_accounts_pending_messages_with_a_visible_reason(auth_client, sms_account):
    ready = _send_sms(auth_client, sms_account)
    other_account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url=MITTO_URL)
    untouched = _send_sms(auth_client, other_account)

    call_command("deactivate", "--traffic-account", str(sms_account.id))

    assert _statuses(ready, untouched) == [Status.CANCELLED, Status.READY]
    lookup = auth_client.get(f"/api/v1/Message/{ready.id}").json()
    assert lookup["deliveryStatus"] == "Cancelled"
    assert lookup["history"][-1] == {
        "status": "Cancelled",
        "occurredAt": lookup["history"][-1]["occurredAt"],
        "source": "deactivation",
        "detail": {"reason": "traffic account deactivated"},
    }
    # Dispatch of the cancelled message sends nothing: no HTTP call reaches the provider.
    assert messages_dispatch([ready.id]).claimed == 0
    assert len(responses.calls) == 0


@responses.activate
def test_the_claim_skips_a_ready_message_whose_account_was_switched_off_behind_its_back(auth_client, sms_account):
    """A send accepted by a web process whose cached account was still active: Ready, never sent."""
    message = _send_sms(auth_client, sms_account)
    TrafficAccount.objects.filter(id=sms_account.id).update(is_active=False)

    assert messages_dispatch([message.id]).claimed == 0
    assert _statuses(message) == [Status.READY]
    assert len(responses.calls) == 0

    # The second pass after a deactivation cancels such stragglers.
    cancel_pending_of_inactive(traffic_account_id=str(sms_account.id))
    assert _statuses(message) == [Status.CANCELLED]


@responses.activate
def test_the_claim_skips_messages_of_a_deactivated_customer(auth_client, sms_account):
    message = _send_sms(auth_client, sms_account)
    Customer.objects.filter(id=auth_client.customer.id).update(is_active=False)

    assert messages_dispatch([message.id]).claimed == 0
    assert len(responses.calls) == 0


def test_the_second_pass_leaves_a_reactivated_account_alone(auth_client, sms_account):
    """Switched off and on again before the delayed pass ran: its messages go out after all."""
    message = _send_sms(auth_client, sms_account)
    TrafficAccount.objects.filter(id=sms_account.id).update(is_active=False)
    TrafficAccount.objects.filter(id=sms_account.id).update(is_active=True)

    cancel_pending_of_inactive(traffic_account_id=str(sms_account.id))

    assert _statuses(message) == [Status.READY]
    assert list(Message.objects.get(id=message.id).events.values_list("status", flat=True)) == ["Ready"]


def test_the_second_pass_leaves_an_active_customers_other_accounts_alone(auth_client, sms_account):
    """The pass for one account cancels that account's stragglers only."""
    straggler = _send_sms(auth_client, sms_account)
    other = _send_sms(auth_client, TrafficAccountFactory(customer=auth_client.customer, channel="sms"))
    TrafficAccount.objects.filter(id=sms_account.id).update(is_active=False)

    cancel_pending_of_inactive(traffic_account_id=str(sms_account.id))

    assert _statuses(straggler, other) == [Status.CANCELLED, Status.READY]


def test_a_customer_deactivation_cancels_every_pending_hop_and_refuses_the_api(auth_client, sms_account,
                                                                                whatsapp_account):
    first, second = _chain(auth_client, [whatsapp_account, sms_account])
    Message.objects.filter(id=first.id).update(status=Status.SENT)  # already with the provider

    call_command("deactivate", "--customer", auth_client.customer.email.upper())

    assert _statuses(first, second) == [Status.SENT, Status.CANCELLED]
    assert list(Message.objects.get(id=second.id).events.values_list("status", "source", "detail")) == [
        ("Scheduled", "api", {}),
        ("Cancelled", "deactivation", {"reason": "customer deactivated"}),
    ]
    # The deadline still fires, and triggers nothing.
    Message.objects.filter(id=first.id).update(failover_deadline=timezone.now() - timedelta(seconds=1))
    assert failover_sweep().triggered == 0
    assert auth_client.get(f"/api/v1/Message/{first.id}").status_code == 401


def test_the_failover_sweep_does_not_trigger_a_hop_of_an_inactive_account(auth_client, sms_account,
                                                                          whatsapp_account):
    first, second = _chain(auth_client, [whatsapp_account, sms_account])
    Message.objects.filter(id=first.id).update(
        status=Status.SENT, failover_deadline=timezone.now() - timedelta(seconds=1)
    )
    TrafficAccount.objects.filter(id=sms_account.id).update(is_active=False)  # no cancellation ran

    summary = failover_sweep()

    assert (summary.claimed, summary.triggered) == (1, 0)
    assert _statuses(second) == [Status.SCHEDULED]


def test_the_failover_sweep_moves_on_from_a_cancelled_hop_to_an_active_account(auth_client, sms_account,
                                                                              whatsapp_account):
    first, second = _chain(auth_client, [whatsapp_account, sms_account])

    call_command("deactivate", "--traffic-account", str(whatsapp_account.id))
    Message.objects.filter(id=first.id).update(failover_deadline=timezone.now() - timedelta(seconds=1))

    assert failover_sweep().triggered == 1
    assert _statuses(first, second) == [Status.CANCELLED, Status.READY]


def test_deactivating_through_the_admin_cancels_pending_messages(client, auth_client, sms_account):
    message = _send_sms(auth_client, sms_account)
    operator = Customer.objects.create_superuser("ops@example.com", "operator-passphrase")
    client.force_login(operator)
    form = {
        "customer": str(sms_account.customer_id),
        "name": sms_account.name,
        "channel": sms_account.channel,
        "sender": sms_account.sender,
        "display_name": sms_account.display_name,
        "phone_number": "",
        "base_url": sms_account.base_url,
        "throughput_per_second": "",
        "viber_kind": sms_account.viber_kind,
    }  # "is_active" left out: the checkbox is unticked

    response = client.post(f"/admin/accounts_app/trafficaccount/{sms_account.id}/change/", form)

    assert response.status_code == 302
    assert TrafficAccount.objects.get(id=sms_account.id).is_active is False
    assert _statuses(message) == [Status.CANCELLED]


def test_deactivating_a_customer_through_the_admin_cancels_their_messages(client, auth_client, sms_account):
    message = _send_sms(auth_client, sms_account)
    customer = auth_client.customer
    operator = Customer.objects.create_superuser("ops@example.com", "operator-passphrase")
    client.force_login(operator)
    form = {
        "email": customer.email,
        "name": customer.name,
        "date_joined_0": customer.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": customer.date_joined.strftime("%H:%M:%S"),
    }  # "is_active" left out: the checkbox is unticked

    response = client.post(f"/admin/accounts_app/customer/{customer.id}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Customer.objects.get(id=customer.id).is_active is False
    assert _statuses(message) == [Status.CANCELLED]


def test_templates_of_a_deactivated_account_are_refused(auth_client, whatsapp_account):
    call_command("deactivate", "--traffic-account", str(whatsapp_account.id))

    response = auth_client.get(f"/api/v1/trafficAccounts/{whatsapp_account.id}/WhatsAppTemplates")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("traffic-account-inactive")


def test_the_command_refuses_unknown_targets(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No customer"):
        call_command("deactivate", "--customer", "nobody@example.com")
    with pytest.raises(CommandError, match="Not a traffic account id"):
        call_command("deactivate", "--traffic-account", "nope")


class _SlowProvider:
    """A local Mitto that takes ``delay`` seconds per SMS and runs ``on_first`` during the first."""

    def __init__(self, delay: float, on_first) -> None:
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                if len(outer.received) == 1:
                    on_first()
                threading.Event().wait(delay)
                answer = json.dumps({"id": f"mitto-{len(outer.received)}", "responseCode": 0}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.django_db(transaction=True)
def test_a_deactivation_while_a_chunk_is_being_sent_stops_the_rest_of_it(auth_client, settings):
    """Committed rows, so the provider's thread can switch the account off on its own connection
    while the worker is waiting for the first answer."""
    settings.MITTO_BULK_MAX_DESTINATIONS = 1  # one provider call per message, as this test counts
    account_id: list = []

    def deactivate() -> None:
        TrafficAccount.objects.filter(id=account_id[0]).update(is_active=False)
        connection.close()

    provider = _SlowProvider(delay=RECHECK_AFTER_SECONDS + 0.2, on_first=deactivate)
    try:
        account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url=provider.url)
        account_id.append(account.id)
        messages = [_send_sms(auth_client, account) for _ in range(3)]

        summary = messages_dispatch([m.id for m in messages])
    finally:
        provider.close()

    assert summary.claimed == 3
    assert len(provider.received) == 1
    sent = [m for m in Message.objects.filter(id__in=[m.id for m in messages]) if m.status == Status.SENT]
    rest = [m for m in Message.objects.filter(id__in=[m.id for m in messages]) if m.status != Status.SENT]
    assert len(sent) == 1  # the one already with the provider
    assert [(m.status, m.claimed_at, m.attempts) for m in rest] == [(Status.READY, None, 0)] * 2
    cancel_pending_of_inactive(traffic_account_id=str(account.id))
    assert _statuses(*rest) == [Status.CANCELLED] * 2
