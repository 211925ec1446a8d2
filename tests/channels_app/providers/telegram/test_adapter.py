import json
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import requests
import responses

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
    UserStateEvent,
)
from channels_app.providers.telegram.adapter import TelegramAdapter

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "telegram"
BASE_URL = "https://api.telegram.org"
BOT_TOKEN = "1825352151:AAGxS7thz5SEDuy-0tWWsV1ffUlR_x_QNQ"
SECRET_TOKEN = "tg-webhook-secret_0123456789"
MESSAGE_ID = UUID("0c9a1f7e-2b3d-4e5f-8a6b-7c8d9e0f1a2b")
TEXT = {"text": {"message": "Hi"}}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def raw_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def method_url(method: str) -> str:
    return f"{BASE_URL}/bot{BOT_TOKEN}/{method}"


def adapter(**credentials: str) -> TelegramAdapter:
    return TelegramAdapter(
        ProviderAccount(
            id=uuid4(),
            channel="telegram",
            base_url=BASE_URL,
            credentials=credentials or {"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN},
        )
    )


def outbound(content: dict[str, Any], destination: str = "1861312834") -> OutboundMessage:
    return OutboundMessage(id=MESSAGE_ID, destination=destination, content=content)


def update(body: bytes, secret: str | None = SECRET_TOKEN) -> CallbackRequest:
    headers = {"x-telegram-bot-api-secret-token": secret} if secret is not None else {}
    return CallbackRequest(method="POST", body=body, headers=headers, query={"ta": str(uuid4())})


def dumped(exchange: Any) -> str:
    return json.dumps(exchange.__dict__, default=str)


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


# ---- sending -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(fixture("send_cases.json")))
def test_send_builds_the_exact_bot_api_request(rsps, case):
    # given
    spec = fixture("send_cases.json")[case]
    rsps.post(method_url(spec["method"]), json=fixture("send_success.json"))

    # when
    result = adapter().send(outbound(spec["content"], spec["destination"]))

    # then
    request = rsps.calls[0].request
    assert request.url == method_url(spec["method"])
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == spec["expected"]
    assert result.provider_message_id == "42"
    assert result.final is True


def test_bot_token_never_appears_in_the_recorded_exchange(rsps):
    rsps.post(method_url("sendMessage"), json=fixture("send_success.json"))

    result = adapter().send(outbound(TEXT))

    assert result.exchange is not None
    assert result.exchange.url == f"{BASE_URL}/bot***/sendMessage"
    assert BOT_TOKEN not in dumped(result.exchange)


def test_bot_token_is_redacted_from_connection_errors(rsps):
    # requests puts the URL, token included, into its error text
    failure = requests.ConnectionError(
        "HTTPSConnectionPool(host='api.telegram.org', port=443): "
        f"Max retries exceeded with url: /bot{BOT_TOKEN}/sendMessage"
    )
    rsps.post(method_url("sendMessage"), body=failure)

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound(TEXT))

    assert error.value.code == "connection"
    assert "/bot***/sendMessage" in error.value.exchange.error
    assert BOT_TOKEN not in dumped(error.value.exchange)
    assert BOT_TOKEN not in str(error.value)
    # nor in the traceback a log handler would print
    assert BOT_TOKEN not in "".join(traceback.format_exception(error.value))


@pytest.mark.parametrize("failure", [requests.ConnectTimeout("connect"), requests.ReadTimeout("read")])
def test_timeouts_are_retryable(rsps, failure):
    rsps.post(method_url("sendMessage"), body=failure)

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound(TEXT))

    assert error.value.code == "timeout"
    assert BOT_TOKEN not in dumped(error.value.exchange)


@pytest.mark.parametrize(
    "content",
    [{}, {"silent": True}, {"text": {"message": "Hi", "parseMode": "Shouting"}}],
    ids=["empty", "only-silent", "unknown-parse-mode"],
)
def test_content_telegram_cannot_carry_is_rejected_without_a_call(rsps, content):
    with pytest.raises(ProviderRejected) as error:
        adapter().send(outbound(content))

    assert error.value.code == "invalid_content"
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    ("name", "error_class"),
    [
        ("too_many_requests", ProviderThrottled),
        ("chat_not_found", ProviderRejected),
        ("group_migrated", ProviderRejected),
        ("bot_blocked", ProviderRejected),
        ("unauthorized", ProviderConfigError),
        ("not_found", ProviderConfigError),
        ("internal", ProviderUnavailable),
        ("bad_gateway", ProviderUnavailable),
    ],
)
def test_errors_are_classified_with_telegram_code_and_description(rsps, name, error_class):
    body = fixture("send_errors.json")[name]
    rsps.post(method_url("sendMessage"), status=body["error_code"], json=body)

    with pytest.raises(error_class) as error:
        adapter().send(outbound(TEXT))

    assert type(error.value) is error_class
    assert error.value.code == str(body["error_code"])
    assert error.value.text.startswith(body["description"])
    assert BOT_TOKEN not in dumped(error.value.exchange)


def test_429_carries_telegram_retry_after(rsps):
    rsps.post(method_url("sendMessage"), status=429, json=fixture("send_errors.json")["too_many_requests"])

    with pytest.raises(ProviderThrottled) as error:
        adapter().send(outbound(TEXT))

    assert error.value.retry_after == 5.0


def test_migrated_group_names_the_new_chat_id(rsps):
    rsps.post(method_url("sendMessage"), status=400, json=fixture("send_errors.json")["group_migrated"])

    with pytest.raises(ProviderRejected) as error:
        adapter().send(outbound(TEXT, destination="-123456"))

    assert "-1001987654321" in error.value.text


def test_error_without_a_telegram_body_keeps_the_http_status(rsps):
    rsps.post(method_url("sendMessage"), status=503, body="<html>Service Unavailable</html>")

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound(TEXT))

    assert error.value.code == "503"


@pytest.mark.parametrize("body", ["not json", '{"result": {"message_id": 42}}'], ids=["not-json", "no-ok"])
def test_success_status_without_a_verdict_is_retryable(rsps, body):
    rsps.post(method_url("sendMessage"), body=body)

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound(TEXT))

    assert error.value.code == "bad_response"


# ---- webhook management ----------------------------------------------------------------------


def test_set_webhook_posts_url_secret_and_allowed_updates(rsps):
    rsps.post(method_url("setWebhook"), json=fixture("set_webhook_success.json"))
    url = "https://gateway.example.com/callbacks/telegram?ta=59af552a-e2f2-11eb-b862-482ae3643973"

    answer = adapter().set_webhook(url=url, secret_token="new-secret_42", allowed_updates=["message"])

    request = rsps.calls[0].request
    assert json.loads(request.body) == {"url": url, "secret_token": "new-secret_42", "allowed_updates": ["message"]}
    assert answer == fixture("set_webhook_success.json")


def test_set_webhook_keeps_the_secret_out_of_the_recorded_exchange(rsps):
    rsps.post(method_url("setWebhook"), status=400, json={"ok": False, "error_code": 400, "description": "Bad"})

    with pytest.raises(ProviderRejected) as error:
        adapter().set_webhook(url="http://insecure.example.com", secret_token="new-secret_42")

    assert "new-secret_42" not in dumped(error.value.exchange)
    assert BOT_TOKEN not in dumped(error.value.exchange)


def test_set_webhook_without_allowed_updates_keeps_telegram_default(rsps):
    rsps.post(method_url("setWebhook"), json=fixture("set_webhook_success.json"))

    adapter().set_webhook(url="https://gateway.example.com/callbacks/telegram", secret_token=SECRET_TOKEN)

    assert "allowed_updates" not in json.loads(rsps.calls[0].request.body)


def test_get_webhook_info_returns_telegram_answer(rsps):
    rsps.post(method_url("getWebhookInfo"), json=fixture("get_webhook_info_success.json"))

    info = adapter().get_webhook_info()

    assert info["result"]["url"].startswith("https://gateway.example.com/callbacks/telegram")


def test_delete_webhook(rsps):
    rsps.post(method_url("deleteWebhook"), json=fixture("delete_webhook_success.json"))

    assert adapter().delete_webhook()["result"] is True
    assert rsps.calls[0].request.url == method_url("deleteWebhook")


def test_webhook_management_with_a_revoked_token_is_a_config_error(rsps):
    rsps.post(method_url("getWebhookInfo"), status=401, json=fixture("send_errors.json")["unauthorized"])

    with pytest.raises(ProviderConfigError):
        adapter().get_webhook_info()


# ---- callback authenticity -------------------------------------------------------------------


def test_update_with_our_secret_token_is_accepted():
    adapter().verify_callback(update(raw_fixture("update_message_text.json")))


def test_update_with_one_byte_of_the_secret_changed_is_rejected():
    wrong = SECRET_TOKEN[:-1] + "X"

    with pytest.raises(CallbackRejected) as error:
        adapter().verify_callback(update(raw_fixture("update_message_text.json"), secret=wrong))

    assert error.value.status_code == 401


def test_update_without_a_secret_token_is_rejected():
    with pytest.raises(CallbackRejected):
        adapter().verify_callback(update(raw_fixture("update_message_text.json"), secret=None))


def test_updates_cannot_be_verified_without_a_configured_secret():
    with pytest.raises(CallbackRejected):
        adapter(bot_token=BOT_TOKEN).verify_callback(update(raw_fixture("update_message_text.json"), secret=""))


# ---- callback parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected_content"),
    [
        ("update_message_text.json", {"type": "text", "text": "Hello bot"}),
        ("update_edited_message.json", {"type": "text", "text": "Hello bot, edited"}),
        (
            "update_message_photo.json",
            {"type": "image", "fileId": "AgACAgQAAxkBAAIBQ2_large", "caption": "my receipt"},
        ),
        (
            "update_message_document.json",
            {
                "type": "document",
                "fileId": "BQACAgQAAxkBAAIBRG_doc",
                "filename": "invoice.pdf",
                "mimeType": "application/pdf",
            },
        ),
        (
            "update_message_video.json",
            {"type": "video", "fileId": "BAACAgQAAxkBAAIBRW_vid", "caption": "look", "mimeType": "video/mp4"},
        ),
        (
            "update_message_voice.json",
            {"type": "audio", "fileId": "AwACAgQAAxkBAAIBRm_voice", "mimeType": "audio/ogg"},
        ),
        ("update_message_location.json", {"type": "location", "latitude": 46.100231, "longitude": 19.664058}),
    ],
)
def test_user_messages_become_inbound_events(name, expected_content):
    events = adapter().parse_callback(update(raw_fixture(name)))

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, InboundEvent)
    assert event.provider_event_id == "918273645"
    assert event.sender == "1861312834"
    assert event.sender_name == "Ana Horvat"
    assert event.content == expected_content
    assert event.raw == fixture(name)


def test_edited_message_is_dated_by_its_edit():
    events = adapter().parse_callback(update(raw_fixture("update_edited_message.json")))

    assert events[0].occurred_at == datetime.fromtimestamp(1626349960, tz=UTC)


def test_sender_name_falls_back_to_the_username():
    body = fixture("update_message_text.json")
    body["message"]["from"] = {"id": 1861312834, "is_bot": False, "first_name": "", "username": "ana_h"}

    events = adapter().parse_callback(update(json.dumps(body).encode()))

    assert events[0].sender_name == "ana_h"


def test_inline_button_tap_becomes_a_reply():
    events = adapter().parse_callback(update(raw_fixture("update_callback_query.json")))

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, InboundEvent)
    assert event.provider_event_id == "918273646"
    assert event.sender == "1861312834"
    assert event.content == {"type": "reply", "payload": "callback-yes", "text": "Do you want a callback?"}


@pytest.mark.parametrize(
    ("name", "reachable", "reason"),
    [
        ("update_my_chat_member_kicked.json", False, "kicked"),
        ("update_my_chat_member_member.json", True, "member"),
    ],
)
def test_bot_membership_changes_become_user_state_events(name, reachable, reason):
    events = adapter().parse_callback(update(raw_fixture(name)))

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, UserStateEvent)
    assert event.user == "1861312834"
    assert event.reachable is reachable
    assert event.reason == reason


def test_update_kinds_the_gateway_does_not_use_produce_no_event():
    assert adapter().parse_callback(update(raw_fixture("update_poll.json"))) == []
