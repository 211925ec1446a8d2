"""WhatsApp Cloud API: messages, templates, signed status and inbound webhooks."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import requests

from sandbox.client import SandboxClient, SandboxError
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import Receiver, load_fixture

PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
APP_SECRET = "whatsapp-app-secret"
AUTH = {"Authorization": "Bearer EAAG-sandbox-token"}


def _messages_url(sandbox: LocalSandbox) -> str:
    return f"{sandbox.url}/v21.0/{PHONE_NUMBER_ID}/messages"


def _templates_url(sandbox: LocalSandbox) -> str:
    return f"{sandbox.url}/v21.0/{WABA_ID}/message_templates"


def _assert_signed(received_body: bytes, header: str) -> None:
    expected = "sha256=" + hmac.new(APP_SECRET.encode(), received_body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header, expected)


@pytest.fixture
def registered(control: SandboxClient, inbox: Receiver) -> Receiver:
    control.register_whatsapp(
        PHONE_NUMBER_ID, webhook_url=f"{inbox.url}/callbacks/whatsapp", app_secret=APP_SECRET,
        waba_id=WABA_ID, display_phone_number="15550783881",
    )
    return inbox


def test_send_success_shape(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    response = http.post(_messages_url(sandbox), json=load_fixture("whatsapp_text_message.json"), headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "16505551234", "wa_id": "16505551234"}]
    (message,) = body["messages"]
    assert message["id"].startswith("wamid.")
    assert len(message["id"]) > 20


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer invalid"}])
def test_bad_token_is_error_190(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, headers: dict[str, str]
) -> None:
    response = http.post(_messages_url(sandbox), json=load_fixture("whatsapp_text_message.json"), headers=headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == 190
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]


@pytest.mark.parametrize(
    "change",
    [
        {"messaging_product": None},
        {"to": None},
        {"text": {"preview_url": False}},
        {"type": "hologram"},
    ],
)
def test_malformed_message_is_error_100(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, change: dict
) -> None:
    body = {k: v for k, v in {**load_fixture("whatsapp_text_message.json"), **change}.items() if v is not None}

    response = http.post(_messages_url(sandbox), json=body, headers=AUTH)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["error_data"]["details"]


def test_template_message_needs_name_and_language(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    base = {"messaging_product": "whatsapp", "to": "16505551234", "type": "template"}
    complete = dict(base, template={"name": "order_update", "language": {"code": "en_US"}})
    incomplete = dict(base, template={"name": "order_update"})

    accepted = http.post(_messages_url(sandbox), json=complete, headers=AUTH)
    refused = http.post(_messages_url(sandbox), json=incomplete, headers=AUTH)

    assert accepted.json()["messages"][0]["message_status"] == "accepted"
    assert refused.json()["error"]["code"] == 100


def test_template_lifecycle(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    created = http.post(_templates_url(sandbox), json=load_fixture("whatsapp_template_create.json"), headers=AUTH)
    listed = http.get(_templates_url(sandbox), headers=AUTH)
    deleted = http.delete(_templates_url(sandbox), params={"name": "order_update"}, headers=AUTH)
    after = http.get(_templates_url(sandbox), headers=AUTH)

    assert created.status_code == 200
    assert created.json() == {"id": created.json()["id"], "status": "APPROVED", "category": "UTILITY"}
    (template,) = listed.json()["data"]
    assert template["name"] == "order_update"
    assert template["language"] == "en_US"
    assert template["id"] == created.json()["id"]
    assert template["components"][0]["type"] == "BODY"
    assert deleted.json() == {"success": True}
    assert after.json()["data"] == []


def test_template_status_follows_the_setting(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    control.update_settings(template_status="PENDING")

    created = http.post(_templates_url(sandbox), json=load_fixture("whatsapp_template_create.json"), headers=AUTH)

    assert created.json()["status"] == "PENDING"


def test_duplicate_and_invalid_templates_are_refused(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    template = load_fixture("whatsapp_template_create.json")
    http.post(_templates_url(sandbox), json=template, headers=AUTH)

    duplicate = http.post(_templates_url(sandbox), json=template, headers=AUTH)
    bad_category = http.post(_templates_url(sandbox), json=dict(template, name="x", category="SPAM"), headers=AUTH)
    missing = http.delete(_templates_url(sandbox), params={"name": "nope"}, headers=AUTH)

    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["code"] == 100
    assert bad_category.json()["error"]["code"] == 100
    assert missing.status_code == 400


def test_template_list_pages_with_cursors(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    template = load_fixture("whatsapp_template_create.json")
    for index in range(3):
        http.post(_templates_url(sandbox), json=dict(template, name=f"t_{index}"), headers=AUTH)

    first = http.get(_templates_url(sandbox), params={"limit": 2}, headers=AUTH).json()
    after = first["paging"]["cursors"]["after"]
    second = http.get(_templates_url(sandbox), params={"limit": 2, "after": after}, headers=AUTH).json()

    assert [t["name"] for t in first["data"]] == ["t_0", "t_1"]
    assert first["paging"]["next"]
    assert [t["name"] for t in second["data"]] == ["t_2"]
    assert "next" not in second["paging"]


def test_delivered_status_webhook_is_signed(
    sandbox: LocalSandbox, control: SandboxClient, registered: Receiver, http: requests.Session
) -> None:
    sent = http.post(_messages_url(sandbox), json=load_fixture("whatsapp_text_message.json"), headers=AUTH).json()

    (webhook,) = registered.wait_for(1)
    _assert_signed(webhook.body, webhook.headers["x-hub-signature-256"])
    body = webhook.json()
    assert body["object"] == "whatsapp_business_account"
    (entry,) = body["entry"]
    assert entry["id"] == WABA_ID
    (change,) = entry["changes"]
    assert change["field"] == "messages"
    assert change["value"]["metadata"] == {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}
    (status,) = change["value"]["statuses"]
    assert status["id"] == sent["messages"][0]["id"]
    assert status["status"] == "delivered"
    assert status["recipient_id"] == "16505551234"
    assert status["timestamp"].isdigit()
    assert status["biz_opaque_callback_data"] == "0b7f3a52-9c1e-4d6b-8a2f-3e5d7c9b1a40"


def test_read_report_sends_delivered_then_read(
    sandbox: LocalSandbox, control: SandboxClient, registered: Receiver, http: requests.Session
) -> None:
    control.set_behaviour("16505551234", report="read")

    http.post(_messages_url(sandbox), json=load_fixture("whatsapp_text_message.json"), headers=AUTH)

    webhooks = registered.wait_for(2)
    statuses = [w.json()["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for w in webhooks]
    assert statuses == ["delivered", "read"]
    for webhook in webhooks:
        _assert_signed(webhook.body, webhook.headers["x-hub-signature-256"])


def test_failed_report_carries_errors(
    sandbox: LocalSandbox, control: SandboxClient, registered: Receiver, http: requests.Session
) -> None:
    control.set_behaviour("16505551234", report="failed", error_code=131049, error_text="Ecosystem engagement")

    http.post(_messages_url(sandbox), json=load_fixture("whatsapp_text_message.json"), headers=AUTH)

    (webhook,) = registered.wait_for(1)
    status = webhook.json()["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131049
    assert status["errors"][0]["title"] == "Ecosystem engagement"


def test_inbound_text_message_webhook(sandbox: LocalSandbox, control: SandboxClient, registered: Receiver) -> None:
    injected = control.inject_inbound(
        "whatsapp", account=PHONE_NUMBER_ID, sender="+16505551234", text="Where is my order?", name="Ana"
    )

    (webhook,) = registered.wait_for(1)
    _assert_signed(webhook.body, webhook.headers["x-hub-signature-256"])
    value = webhook.json()["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": "16505551234"}]
    (message,) = value["messages"]
    assert message["from"] == "16505551234"
    assert message["type"] == "text"
    assert message["text"] == {"body": "Where is my order?"}
    assert message["id"] == injected["events"][0]["body"]["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def test_inbound_without_registration_is_refused(control: SandboxClient) -> None:
    with pytest.raises(SandboxError) as refused:
        control.inject_inbound("whatsapp", account="999", sender="16505551234", text="hi")

    assert refused.value.status == 409
