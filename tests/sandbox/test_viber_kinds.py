"""Viber bots and Viber Business Messages against the sandbox, which refuses what each refuses:
a phone number as a bot's receiver, a TTL or destination Business Messages would not take. The
Business Messages reports the sandbox posts are fed to the gateway's own callback endpoint."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from django.test import Client

from channels_app.models import Message
from channels_app.providers.accounts import provider_account
from channels_app.providers.base import OutboundMessage, ProviderRejected
from channels_app.providers.registry import adapter_for
from channels_app.services.dispatch import messages_dispatch
from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.factories import TrafficAccountFactory
from tests.sandbox.conftest import Receiver

PHONE = "+41751231234"
BOT_AUTH = {"X-Viber-Auth-Token": "bot-token"}
BM_AUTH = {"Authorization": "App bm-key"}


def _bm_body(**changes) -> dict:
    message = {
        "sender": "DemoBrand",
        "destinations": [{"to": PHONE.lstrip("+"), "messageId": "m-1"}],
        "content": {"type": "TEXT", "text": "Your code is 1234"},
        "options": {"label": "TRANSACTIONAL", "validityPeriod": {"amount": 3600, "timeUnit": "SECONDS"}},
    } | changes
    return {"messages": [message]}


# ---- the sandbox refuses what the providers refuse ----------------------------------------


def test_a_phone_number_as_a_bots_receiver_is_viber_status_5(sandbox: LocalSandbox, http: requests.Session):
    body = {"receiver": PHONE, "sender": {"name": "Bot"}, "type": "text", "text": "hi"}

    response = http.post(f"{sandbox.url}/pa/send_message", json=body, headers=BOT_AUTH)

    assert response.json()["status"] == 5
    assert response.json()["status_message"].startswith("receiverNotRegistered")


def test_a_keyboard_sent_on_its_own_needs_no_message_type(sandbox: LocalSandbox, http: requests.Session):
    keyboard = {"Type": "keyboard", "Buttons": [{"ActionType": "reply", "ActionBody": "yes", "Text": "Yes"}]}
    lone = {"receiver": "01234567890A=", "sender": {"name": "Bot"}, "keyboard": keyboard}

    assert http.post(f"{sandbox.url}/pa/send_message", json=lone, headers=BOT_AUTH).json()["status"] == 0
    empty = {"receiver": "01234567890A=", "sender": {"name": "Bot"}}
    assert http.post(f"{sandbox.url}/pa/send_message", json=empty, headers=BOT_AUTH).json()["status"] == 4


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"options": {"label": "TRANSACTIONAL", "validityPeriod": {"amount": 10, "timeUnit": "SECONDS"}}}, "TTL"),
        ({"options": {"label": "TRANSACTIONAL", "validityPeriod": {"amount": 1_209_601, "timeUnit": "SECONDS"}}},
         "TTL"),
        ({"destinations": [{"to": "01234567890A="}]}, "destination"),
        ({"content": {"type": "IMAGE", "mediaUrl": "https://example.com/a.png"}}, "Transactional"),
        ({"options": {"label": "SESSION"}}, "label"),
    ],
)
def test_business_messages_refuse_what_viber_refuses(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, changes: dict, words: str
):
    response = http.post(f"{sandbox.url}/viber/2/messages", json=_bm_body(**changes), headers=BM_AUTH)

    assert response.status_code == 400
    assert words in response.json()["requestError"]["serviceException"]["text"]


def test_the_bot_adapter_fails_a_phone_receiver_with_vibers_status(sandbox: LocalSandbox, control: SandboxClient):
    account = TrafficAccountFactory.build(channel="viber", base_url=sandbox.url)
    adapter = adapter_for(provider_account(account))

    with pytest.raises(ProviderRejected) as refused:
        adapter.send(OutboundMessage(id=account.id, destination=PHONE, content={"type": "regular", "text": "hi"}))

    assert refused.value.code == "5"


def test_the_bot_adapter_sends_a_keyboard_alone_as_the_sdks_keyboard_message(
    sandbox: LocalSandbox, control: SandboxClient
):
    account = TrafficAccountFactory.build(channel="viber", base_url=sandbox.url)
    keyboard = {"Type": "keyboard", "Buttons": [{"ActionType": "reply", "ActionBody": "yes", "Text": "Yes"}]}

    result = adapter_for(provider_account(account)).send(
        OutboundMessage(id=account.id, destination="01234567890A=", content={"type": "regular", "keyboard": keyboard})
    )

    assert result.provider_message_id
    (sent,) = control.requests(channel="viber")
    assert "type" not in sent["body"] and sent["body"]["keyboard"] == keyboard


def test_a_keyboard_without_its_type_is_refused_as_viber_refuses_it(sandbox: LocalSandbox, http: requests.Session):
    keyboard = {"Buttons": [{"ActionType": "reply", "ActionBody": "yes", "Text": "Yes"}]}
    body = {"receiver": "01234567890A=", "sender": {"name": "Bot"}, "type": "text", "text": "hi", "keyboard": keyboard}

    answer = http.post(f"{sandbox.url}/pa/send_message", json=body, headers=BOT_AUTH).json()

    assert answer["status"] == 3
    assert "keyboard is not valid" in answer["status_message"]


def test_the_bot_adapter_gives_a_customer_keyboard_the_type_viber_requires(
    sandbox: LocalSandbox, control: SandboxClient
):
    account = TrafficAccountFactory.build(channel="viber", base_url=sandbox.url)
    untyped = {"Buttons": [{"ActionType": "reply", "ActionBody": "yes", "Text": "Yes"}]}

    result = adapter_for(provider_account(account)).send(
        OutboundMessage(id=account.id, destination="01234567890A=", content={"type": "regular", "keyboard": untyped})
    )

    assert result.provider_message_id  # the sandbox, which refuses an untyped keyboard, accepted it
    (sent,) = control.requests(channel="viber")
    assert sent["body"]["keyboard"] == {"Type": "keyboard", **untyped}


# ---- Business Messages end to end ---------------------------------------------------------


@pytest.fixture
def business(db, auth_client, sandbox: LocalSandbox, inbox: Receiver, settings):
    settings.PUBLIC_BASE_URL = inbox.url
    return TrafficAccountFactory(
        customer=auth_client.customer, channel="viber", viber_kind="business", base_url=sandbox.url,
        sender="DemoBrand", credentials={"api_key": "bm-key", "callback_token": "report-secret"},
    )


def _send(auth_client, account, **viber) -> Message:
    response = auth_client.post("/api/v1/Message/send", {
        "trafficAccountId": str(account.id), "destination": PHONE,
        "viber": {"type": "promotional", "text": "Spring sale", "ttl": 86400} | viber,
    }, format="json")
    assert response.status_code == 200, response.json()
    messages_dispatch([response.json()["messageId"]])
    return Message.objects.get(id=response.json()["messageId"])


def test_a_business_message_goes_out_in_the_partners_format_and_its_reports_apply(
    auth_client, business, control: SandboxClient, inbox: Receiver
):
    control.set_behaviour(PHONE.lstrip("+"), report="read")
    button = {"caption": "Shop now", "action": "https://shop.example.com"}

    message = _send(auth_client, business, button=button)

    assert message.status == "Sent"
    (sent,) = control.requests(channel="viber_business")
    assert sent["body"]["messages"][0] | {"webhooks": None} == {
        "sender": "DemoBrand",
        "destinations": [{"to": PHONE.lstrip("+"), "messageId": str(message.id)}],
        "content": {"type": "TEXT", "text": "Spring sale", "button": {"title": "Shop now", "action": button["action"]}},
        "options": {"label": "PROMOTIONAL", "validityPeriod": {"amount": 86400, "timeUnit": "SECONDS"}},
        "webhooks": None,
    }
    delivered, seen = inbox.wait_for(2)
    gateway = Client()
    for report in (delivered, seen):
        assert report.query == {"ta": str(business.id), "token": "report-secret"}
        answer = gateway.post(f"/callbacks/viber?{urlencode(report.query)}", data=report.body,
                              content_type="application/json")
        assert answer.status_code == 200
    message.refresh_from_db()
    assert message.status == "Read"
    assert message.billing == {"price": "0.01", "currency": "EUR"}


def test_an_expired_business_message_fails_and_a_forged_report_is_refused(
    auth_client, business, control: SandboxClient, inbox: Receiver
):
    control.set_behaviour(PHONE.lstrip("+"), report="failed")
    message = _send(auth_client, business)
    (expired,) = inbox.wait_for(1)
    gateway = Client()

    forged = gateway.post(f"/callbacks/viber?ta={business.id}&token=guess", data=expired.body,
                          content_type="application/json")
    genuine = gateway.post(f"/callbacks/viber?{urlencode(expired.query)}", data=expired.body,
                           content_type="application/json")

    assert (forged.status_code, genuine.status_code) == (401, 200)
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("Failed", "EXPIRED")
