"""WhatsApp Cloud API adapter: exact Graph requests, error classes, webhooks and templates."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
import requests
import responses
from responses import matchers

from channels_app.providers.base import (
    CallbackRejected,
    CallbackRequest,
    InboundEvent,
    OutboundMessage,
    ProviderAccount,
    ProviderConfigError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    StatusEvent,
)
from channels_app.providers.whatsapp.adapter import TemplateStatusEvent, WhatsAppAdapter

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "whatsapp"
BASE_URL = "https://graph.whatsapp.test"
VERSION = "v23.0"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
SEND_URL = f"{BASE_URL}/{VERSION}/{PHONE_NUMBER_ID}/messages"
TEMPLATES_URL = f"{BASE_URL}/{VERSION}/{WABA_ID}/message_templates"
ACCESS_TOKEN = "EAAGm0PX4ZCpsBAtestaccesstoken9f8e7d"
APP_SECRET = "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
VERIFY_TOKEN = "hub-verify-8d7c6b5a"
MESSAGE_ID = UUID("0b7f3a52-9c1e-4d6b-8a2f-3e5d7c9b1a40")
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str):
    return json.loads(fixture_bytes(name))


@pytest.fixture(autouse=True)
def _graph_version(settings):
    settings.WHATSAPP_GRAPH_VERSION = VERSION


def make_adapter(**credential_overrides: str) -> WhatsAppAdapter:
    credentials = {
        "access_token": ACCESS_TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "waba_id": WABA_ID,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        **credential_overrides,
    }
    account = ProviderAccount(
        id=UUID("679b453b-c876-49b0-b30e-c2b4c1c60001"),
        channel="whatsapp",
        base_url=BASE_URL,
        credentials=credentials,
    )
    return WhatsAppAdapter(account, session=requests.Session())


def make_message(content: dict) -> OutboundMessage:
    return OutboundMessage(id=MESSAGE_ID, destination="+16505551234", content=content)


def envelope(kind: str, payload: dict) -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": kind,
        kind: payload,
        "biz_opaque_callback_data": str(MESSAGE_ID),
    }


# ---- sending -------------------------------------------------------------------------------


SEND_CASES = [
    pytest.param(
        {"type": "regular", "regular": {"type": "text", "text": "Hello"}},
        envelope("text", {"preview_url": False, "body": "Hello"}),
        id="text",
    ),
    pytest.param(
        {"type": "regular", "regular": {"type": "text", "text": "See https://acme.test", "previewUrl": True}},
        envelope("text", {"preview_url": True, "body": "See https://acme.test"}),
        id="text-preview",
    ),
    pytest.param(
        {
            "type": "regular",
            "regular": {"type": "image", "url": "https://cdn.acme.test/a.jpg", "caption": "Box"},
        },
        envelope("image", {"link": "https://cdn.acme.test/a.jpg", "caption": "Box"}),
        id="image",
    ),
    pytest.param(
        {"type": "regular", "regular": {"type": "image", "url": "https://cdn.acme.test/a.jpg"}},
        envelope("image", {"link": "https://cdn.acme.test/a.jpg"}),
        id="image-no-caption",
    ),
    pytest.param(
        {
            "type": "regular",
            "regular": {
                "type": "document",
                "url": "https://cdn.acme.test/inv.pdf",
                "caption": "Invoice",
                "filename": "invoice.pdf",
            },
        },
        envelope(
            "document",
            {"link": "https://cdn.acme.test/inv.pdf", "caption": "Invoice", "filename": "invoice.pdf"},
        ),
        id="document",
    ),
    pytest.param(
        {
            "type": "regular",
            "regular": {"type": "video", "url": "https://cdn.acme.test/v.mp4", "caption": "Demo"},
        },
        envelope("video", {"link": "https://cdn.acme.test/v.mp4", "caption": "Demo"}),
        id="video",
    ),
    pytest.param(
        {
            "type": "regular",
            "regular": {"type": "audio", "url": "https://cdn.acme.test/a.ogg", "caption": "x"},
        },
        envelope("audio", {"link": "https://cdn.acme.test/a.ogg"}),
        id="audio-takes-no-caption",
    ),
    pytest.param(
        {
            "type": "template",
            "template": {"name": "order_update", "language": "en_US", "parameters": ["12345", "Monday"]},
        },
        envelope(
            "template",
            {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": "12345"}, {"type": "text", "text": "Monday"}],
                    }
                ],
            },
        ),
        id="template-body",
    ),
    pytest.param(
        {
            "type": "template",
            "template": {
                "name": "order_update",
                "language": "de",
                "parameters": ["12345"],
                "headerParameters": ["Anna"],
            },
        },
        envelope(
            "template",
            {
                "name": "order_update",
                "language": {"code": "de"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "Anna"}]},
                    {"type": "body", "parameters": [{"type": "text", "text": "12345"}]},
                ],
            },
        ),
        id="template-header-and-body",
    ),
    pytest.param(
        {
            "type": "template",
            "template": {
                "name": "receipt",
                "language": "en_US",
                "headerParameters": [{"type": "document", "url": "https://cdn.acme.test/r.pdf", "filename": "r.pdf"}],
            },
        },
        envelope(
            "template",
            {
                "name": "receipt",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [
                            {
                                "type": "document",
                                "document": {"link": "https://cdn.acme.test/r.pdf", "filename": "r.pdf"},
                            }
                        ],
                    }
                ],
            },
        ),
        id="template-media-header",
    ),
    pytest.param(
        {"type": "template", "template": {"name": "hello_world", "language": "en_US"}},
        envelope("template", {"name": "hello_world", "language": {"code": "en_US"}}),
        id="template-without-parameters",
    ),
]


@pytest.mark.parametrize(("content", "expected_body"), SEND_CASES)
@responses.activate
def test_send_posts_the_exact_graph_request(content, expected_body):
    responses.post(SEND_URL, json=fixture_json("send_success.json"))

    make_adapter().send(make_message(content))

    (call,) = responses.calls
    assert call.request.url == SEND_URL
    assert call.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == expected_body


@responses.activate
def test_send_uses_the_configured_graph_version(settings):
    settings.WHATSAPP_GRAPH_VERSION = "v22.0"
    responses.post(f"{BASE_URL}/v22.0/{PHONE_NUMBER_ID}/messages", json=fixture_json("send_success.json"))

    make_adapter().send(make_message({"type": "regular", "regular": {"type": "text", "text": "Hi"}}))

    assert responses.calls[0].request.url == f"{BASE_URL}/v22.0/{PHONE_NUMBER_ID}/messages"


@responses.activate
def test_send_returns_the_wamid():
    responses.post(SEND_URL, json=fixture_json("send_success.json"))

    result = make_adapter().send(make_message({"type": "regular", "regular": {"type": "text", "text": "Hi"}}))

    assert result.provider_message_id == WAMID
    assert result.final is False
    assert result.exchange is not None
    assert result.exchange.status_code == 200


def test_unsupported_content_is_rejected_without_calling_meta():
    with responses.RequestsMock() as mock, pytest.raises(ProviderRejected) as excinfo:
        make_adapter().send(make_message({"type": "regular", "regular": {"type": "carousel"}}))

    assert excinfo.value.code == "unsupported_content"
    assert len(mock.calls) == 0


ERRORS = fixture_json("error_responses.json")


@pytest.mark.parametrize(
    ("status", "error_key", "expected_class", "expected_code"),
    [
        (400, "invalid_parameter", ProviderRejected, "100"),
        (400, "re_engagement", ProviderRejected, "131047"),
        (400, "template_param_mismatch", ProviderRejected, "132000"),
        (404, "template_does_not_exist", ProviderRejected, "132001"),
        (400, "undeliverable", ProviderRejected, "131026"),
        (400, "unknown_code", ProviderRejected, "987655"),
        (401, "expired_token", ProviderConfigError, "190"),
        (403, "permission_denied", ProviderConfigError, "10"),
        (403, "permission_2xx", ProviderConfigError, "200"),
        (400, "account_locked", ProviderConfigError, "131031"),
        (400, "throughput", ProviderThrottled, "130429"),
        (400, "pair_rate", ProviderThrottled, "131056"),
        (400, "app_rate_limit", ProviderThrottled, "4"),
        (503, "service_unavailable", ProviderUnavailable, "131016"),
        (500, "something_went_wrong", ProviderUnavailable, "131000"),
        (400, "transient_unknown", ProviderUnavailable, "987654"),
        (500, "server_error", ProviderUnavailable, "987656"),
    ],
)
@responses.activate
def test_send_classifies_graph_errors_by_code(status, error_key, expected_class, expected_code):
    body = ERRORS[error_key]
    responses.post(SEND_URL, json=body, status=status)

    with pytest.raises(expected_class) as excinfo:
        make_adapter().send(make_message({"type": "regular", "regular": {"type": "text", "text": "Hi"}}))

    error = excinfo.value
    assert type(error) is expected_class
    assert error.code == expected_code
    assert error.text.startswith(body["error"]["message"])
    assert error.exchange is not None
    assert error.exchange.status_code == status


@responses.activate
def test_error_text_carries_the_details():
    responses.post(SEND_URL, json=ERRORS["re_engagement"], status=400)

    with pytest.raises(ProviderRejected) as excinfo:
        make_adapter().send(make_message({"type": "regular", "regular": {"type": "text", "text": "Hi"}}))

    assert excinfo.value.text == (
        "Re-engagement message (Message failed to send because more than 24 hours have passed since "
        "the customer last replied to this number.)"
    )


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected_class", "expected_code", "expected_retry_after"),
    [
        (429, ERRORS["throughput"], {"Retry-After": "30"}, ProviderThrottled, "130429", 30.0),
        (429, "Too Many Requests", {"Retry-After": "4"}, ProviderThrottled, "http_429", 4.0),
        (429, "Too Many Requests", {}, ProviderThrottled, "http_429", None),
        (502, "<html>Bad Gateway</html>", {}, ProviderUnavailable, "http_502", None),
        (401, "Unauthorized", {}, ProviderConfigError, "http_401", None),
        (400, "Bad Request", {}, ProviderRejected, "http_400", None),
        (
            200,
            {"messaging_product": "whatsapp", "messages": []},
            {},
            ProviderUnavailable,
            "bad_response",
            None,
        ),
        (200, "OK", {}, ProviderUnavailable, "bad_response", None),
    ],
)
@responses.activate
def test_send_classifies_by_http_status_when_no_code_says(
    status, body, headers, expected_class, expected_code, expected_retry_after
):
    if isinstance(body, dict):
        responses.post(SEND_URL, json=body, status=status, headers=headers)
    else:
        responses.post(SEND_URL, body=body, status=status, headers=headers)

    with pytest.raises(expected_class) as excinfo:
        make_adapter().send(make_message({"type": "regular", "regular": {"type": "text", "text": "Hi"}}))

    assert type(excinfo.value) is expected_class
    assert excinfo.value.code == expected_code
    assert excinfo.value.retry_after == expected_retry_after


@responses.activate
def test_timeout_is_retryable():
    responses.post(SEND_URL, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(ProviderUnavailable) as excinfo:
        make_adapter().send(make_message({"type": "regular", "regular": {"type": "text", "text": "Hi"}}))

    assert excinfo.value.code == "timeout"


@pytest.mark.parametrize(("status", "body"), [(200, fixture_json("send_success.json")), (401, ERRORS["expired_token"])])
@responses.activate
def test_access_token_never_reaches_the_recorded_exchange(status, body):
    responses.post(SEND_URL, json=body, status=status)

    try:
        exchange = (
            make_adapter()
            .send(make_message({"type": "regular", "regular": {"type": "text", "text": f"echo {ACCESS_TOKEN}"}}))
            .exchange
        )
    except ProviderConfigError as error:
        exchange = error.exchange

    recorded = json.dumps(asdict(exchange))
    assert ACCESS_TOKEN not in recorded
    assert APP_SECRET not in recorded
    assert exchange.request_headers["Authorization"] == "***"


# ---- webhook verification ------------------------------------------------------------------


def test_subscription_handshake_returns_the_challenge():
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}

    assert make_adapter().verify_subscription(query) == "1158201444"


@pytest.mark.parametrize(
    ("query", "credentials"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}, {}),
        ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, {}),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, {}),
        ({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, {"verify_token": ""}),
    ],
)
def test_subscription_handshake_with_a_wrong_token_is_403(query, credentials):
    with pytest.raises(CallbackRejected) as excinfo:
        make_adapter(**credentials).verify_subscription(query)

    assert excinfo.value.status_code == 403


def signed(body: bytes, secret: str = APP_SECRET) -> CallbackRequest:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return CallbackRequest(
        method="POST",
        body=body,
        headers={"x-hub-signature-256": f"sha256={signature}", "content-type": "application/json"},
        query={},
    )


def test_correctly_signed_webhook_is_accepted():
    make_adapter().verify_callback(signed(fixture_bytes("webhook_statuses.json")))


def test_webhook_with_one_byte_changed_is_rejected():
    request = signed(fixture_bytes("webhook_statuses.json"))
    tampered = request.body.replace(b'"read"', b'"reed"', 1)
    assert tampered != request.body

    with pytest.raises(CallbackRejected) as excinfo:
        make_adapter().verify_callback(CallbackRequest(method="POST", body=tampered, headers=request.headers, query={}))
    assert excinfo.value.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"x-hub-signature-256": ""}, id="empty"),
        pytest.param({"x-hub-signature-256": "sha1=0123abcd"}, id="wrong-scheme"),
        pytest.param({"x-hub-signature-256": "sha256=00"}, id="wrong-digest"),
    ],
)
def test_webhook_without_a_valid_signature_is_rejected(headers):
    request = CallbackRequest(method="POST", body=fixture_bytes("webhook_statuses.json"), headers=headers, query={})

    with pytest.raises(CallbackRejected) as excinfo:
        make_adapter().verify_callback(request)
    assert excinfo.value.status_code == 401


def test_webhook_signed_with_another_secret_is_rejected():
    request = signed(fixture_bytes("webhook_statuses.json"), secret="some-other-app-secret")

    with pytest.raises(CallbackRejected):
        make_adapter().verify_callback(request)


def test_webhook_cannot_be_verified_without_an_app_secret():
    with pytest.raises(CallbackRejected):
        make_adapter(app_secret="").verify_callback(signed(fixture_bytes("webhook_statuses.json"), secret=""))


# ---- webhook parsing -----------------------------------------------------------------------


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def test_statuses_become_status_events():
    raw_statuses = fixture_json("webhook_statuses.json")["entry"][0]["changes"][0]["value"]["statuses"]

    events = make_adapter().parse_callback(signed(fixture_bytes("webhook_statuses.json")))

    assert events == [
        StatusEvent("Sent", WAMID, MESSAGE_ID, at(1714640127), raw=raw_statuses[0]),
        StatusEvent("Delivered", WAMID, MESSAGE_ID, at(1714640129), raw=raw_statuses[1]),
        StatusEvent("Read", WAMID, MESSAGE_ID, at(1714640185), raw=raw_statuses[2]),
        # "played" (voice message listened to) is a read; an opaque value that is no id is ignored
        StatusEvent(
            "Read",
            "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBQkNERUYwMTIzNDU2Nzg5AA==",
            None,
            at(1714640201),
            raw=raw_statuses[3],
        ),
        StatusEvent(
            "Failed",
            "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIyRkM3NTRDQjA5MTREMUU1RjgA",
            UUID("5c2e8f14-7a3b-4c9d-b1e6-0f4a2d8c6b93"),
            at(1714640230),
            error_code="131026",
            error_text="Message undeliverable: Message Undeliverable.",
            raw=raw_statuses[4],
        ),
        # the unknown "deleted" status is skipped
    ]


INBOUND_EXPECTED = {
    "wamid.ID_TEXT": {"type": "text", "text": "Hi, where is my order?"},
    "wamid.ID_IMAGE": {
        "type": "image",
        "mediaId": "1003383421387256",
        "mimeType": "image/jpeg",
        "caption": "The damaged box",
    },
    "wamid.ID_DOCUMENT": {
        "type": "document",
        "mediaId": "1003383421387257",
        "mimeType": "application/pdf",
        "caption": "Invoice",
        "filename": "invoice-2024-117.pdf",
    },
    "wamid.ID_AUDIO": {"type": "audio", "mediaId": "1003383421387258", "mimeType": "audio/ogg; codecs=opus"},
    "wamid.ID_VIDEO": {
        "type": "video",
        "mediaId": "1003383421387259",
        "mimeType": "video/mp4",
        "caption": "Unboxing",
    },
    "wamid.ID_STICKER": {"type": "sticker", "mediaId": "1003383421387260", "mimeType": "image/webp"},
    "wamid.ID_LOCATION": {
        "type": "location",
        "latitude": 47.3769,
        "longitude": 8.5417,
        "name": "Zurich HB",
        "address": "Bahnhofplatz, 8001 Zurich",
    },
    "wamid.ID_BUTTON_REPLY": {"type": "reply", "id": "confirm-yes", "text": "Yes"},
    "wamid.ID_LIST_REPLY": {
        "type": "reply",
        "id": "slot-0900",
        "text": "09:00",
        "description": "Morning slot",
    },
    "wamid.ID_TEMPLATE_BUTTON": {"type": "reply", "payload": "STOP_PROMOTIONS", "text": "Stop promotions"},
    "wamid.ID_REACTION": {"type": "reaction", "messageId": "wamid.ID_TEMPLATE", "emoji": "\U0001f44d"},
    "wamid.ID_CONTACTS": {
        "type": "contacts",
        "contacts": [
            {
                "name": {"formatted_name": "Ann Lee", "first_name": "Ann", "last_name": "Lee"},
                "phones": [{"phone": "+1 415 555 0100", "type": "CELL", "wa_id": "14155550100"}],
            }
        ],
    },
    "wamid.ID_UNSUPPORTED": {
        "type": "unsupported",
        "providerType": "unsupported",
        "errorCode": "131051",
        "errorText": "Message type is currently not supported.",
    },
}


def inbound_events() -> list[InboundEvent]:
    events = make_adapter().parse_callback(signed(fixture_bytes("webhook_messages.json")))
    assert all(isinstance(event, InboundEvent) for event in events)
    return events


def test_every_inbound_type_is_parsed_and_unsupported_ones_reach_the_agent_too():
    assert [event.provider_event_id for event in inbound_events()] == list(INBOUND_EXPECTED)


@pytest.mark.parametrize(("wamid", "expected_content"), list(INBOUND_EXPECTED.items()))
def test_inbound_content_is_normalised(wamid, expected_content):
    (event,) = [event for event in inbound_events() if event.provider_event_id == wamid]

    assert event.content == expected_content


def test_inbound_event_carries_sender_profile_name_and_time():
    first = inbound_events()[0]

    assert first.sender == "+16315551234"
    assert first.sender_name == "Kerry Fisher"
    assert first.occurred_at == at(1714640400)
    assert first.raw["text"] == {"body": "Hi, where is my order?"}


def test_template_status_updates_become_template_status_events():
    events = make_adapter().parse_callback(signed(fixture_bytes("webhook_template_status.json")))

    assert [(e.name, e.language, e.status, e.reason, e.provider_template_id) for e in events] == [
        ("order_update", "en_US", "APPROVED", "", "594425479261596"),
        ("summer_sale", "de", "REJECTED", "INVALID_FORMAT", "594425479261597"),
    ]
    assert all(isinstance(e, TemplateStatusEvent) for e in events)


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "x", "value": 3}]}]}',
        b'{"entry": [{"changes": [{"field": "messages", "value": {"statuses": [{"id": "w", "status": "?"}]}}]}]}',
    ],
)
def test_unknown_parts_are_skipped(body):
    assert make_adapter().parse_callback(signed(body)) == []


@pytest.mark.parametrize("body", [b'{"entry": [', b'["not", "an", "object"]'])
def test_malformed_webhook_raises_value_error(body):
    with pytest.raises(ValueError):
        make_adapter().parse_callback(signed(body))


# ---- message templates ---------------------------------------------------------------------


@responses.activate
def test_create_template_posts_to_the_business_account():
    components = [
        {"type": "BODY", "text": "Your order {{1}} ships on {{2}}.", "example": {"body_text": [["1", "Mon"]]}}
    ]
    responses.post(
        TEMPLATES_URL,
        json=fixture_json("template_created.json"),
        match=[
            matchers.json_params_matcher(
                {"name": "order_update", "category": "UTILITY", "language": "en_US", "components": components}
            ),
            matchers.header_matcher({"Authorization": f"Bearer {ACCESS_TOKEN}"}),
        ],
    )

    created = make_adapter().create_template(
        name="order_update", category="UTILITY", language="en_US", components=components
    )

    assert created == {"id": "594425479261596", "status": "PENDING", "category": "UTILITY"}


@responses.activate
def test_create_template_errors_are_typed():
    responses.post(TEMPLATES_URL, json=ERRORS["invalid_parameter"], status=400)

    with pytest.raises(ProviderRejected) as excinfo:
        make_adapter().create_template(name="Bad Name", category="UTILITY", language="en_US", components=[])

    assert excinfo.value.code == "100"


@responses.activate
def test_list_templates_follows_the_after_cursor():
    responses.get(
        TEMPLATES_URL,
        json=fixture_json("templates_page_1.json"),
        match=[matchers.query_param_matcher({"limit": "100"})],
    )
    responses.get(
        TEMPLATES_URL,
        json=fixture_json("templates_page_2.json"),
        match=[matchers.query_param_matcher({"limit": "100", "after": "QVFIUkNURW"})],
    )

    templates = make_adapter().list_templates()

    assert [(t["name"], t["status"]) for t in templates] == [
        ("order_update", "APPROVED"),
        ("summer_sale", "REJECTED"),
        ("otp_code", "APPROVED"),
    ]
    assert len(responses.calls) == 2


@responses.activate
def test_list_templates_stops_when_the_cursor_repeats():
    page = fixture_json("templates_page_1.json")
    responses.get(TEMPLATES_URL, json=page)

    templates = make_adapter().list_templates()

    assert len(responses.calls) == 2  # the first page, then the repeated cursor once
    assert len(templates) == 4


@responses.activate
def test_list_templates_errors_are_typed():
    responses.get(TEMPLATES_URL, json=ERRORS["expired_token"], status=401)

    with pytest.raises(ProviderConfigError):
        make_adapter().list_templates()


@responses.activate
def test_delete_template_deletes_by_name():
    responses.delete(
        TEMPLATES_URL,
        json=fixture_json("template_deleted.json"),
        match=[matchers.query_param_matcher({"name": "summer_sale"})],
    )

    assert make_adapter().delete_template(name="summer_sale") is None
    assert len(responses.calls) == 1


@responses.activate
def test_delete_template_errors_are_typed():
    responses.delete(TEMPLATES_URL, json=ERRORS["template_does_not_exist"], status=404)

    with pytest.raises(ProviderRejected) as excinfo:
        make_adapter().delete_template(name="order_update")

    assert excinfo.value.code == "132001"


def test_changes_about_another_phone_number_are_skipped():
    account = ProviderAccount(
        id=UUID("00000000-0000-4000-8000-0000000000aa"),
        channel="whatsapp",
        base_url="https://graph.test",
        credentials={"phone_number_id": "111", "app_secret": "s"},
    )
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "waba",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "222"},
                            "statuses": [
                                {
                                    "id": "wamid.other",
                                    "status": "delivered",
                                    "timestamp": "1700000000",
                                    "recipient_id": "41790000000",
                                }
                            ],
                        },
                    },
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "111"},
                            "statuses": [
                                {
                                    "id": "wamid.ours",
                                    "status": "delivered",
                                    "timestamp": "1700000000",
                                    "recipient_id": "41790000000",
                                }
                            ],
                        },
                    },
                ],
            }
        ],
    }
    request = CallbackRequest(method="POST", body=json.dumps(body).encode(), headers={}, query={})

    events = WhatsAppAdapter(account).parse_callback(request)

    assert [e.provider_message_id for e in events] == ["wamid.ours"]
