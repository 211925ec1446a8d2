import hashlib
import hmac
import json
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
    StatusEvent,
    UserStateEvent,
)
from channels_app.providers.viber.adapter import ViberAdapter

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "viber"
BASE_URL = "https://chatapi.viber.com"
SEND_URL = f"{BASE_URL}/pa/send_message"
AUTH_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
MESSAGE_ID = UUID("3f1c2a9e-7b4d-4c61-9a0e-5d2b8f6a1c47")
FILE_URL = "https://files.example.com/uploads/2017/10/file-sample_150kB.pdf"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def raw_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def adapter(display_name: str = "Mitto Viber", auth_token: str = AUTH_TOKEN) -> ViberAdapter:
    return ViberAdapter(
        ProviderAccount(
            id=uuid4(),
            channel="viber",
            base_url=BASE_URL,
            credentials={"auth_token": auth_token},
            display_name=display_name,
        )
    )


def outbound(content: dict[str, Any], destination: str = "01234567890A=") -> OutboundMessage:
    return OutboundMessage(id=MESSAGE_ID, destination=destination, content=content)


def signed(body: bytes, token: str = AUTH_TOKEN) -> CallbackRequest:
    signature = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return CallbackRequest(
        method="POST", body=body, headers={"x-viber-content-signature": signature}, query={}
    )


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def sent_body(call: Any) -> dict[str, Any]:
    return json.loads(call.request.body)


# ---- sending -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(fixture("send_cases.json")))
def test_send_builds_the_exact_bot_api_request(rsps, case):
    # given
    spec = fixture("send_cases.json")[case]
    rsps.post(SEND_URL, json=fixture("send_success.json"))

    # when
    result = adapter().send(outbound(spec["content"], spec["destination"]))

    # then
    request = rsps.calls[0].request
    assert request.url == SEND_URL
    assert request.headers["X-Viber-Auth-Token"] == AUTH_TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert sent_body(rsps.calls[0]) == spec["expected"]
    assert result.provider_message_id == "5741311803571721087"
    assert result.final is False


def test_business_message_fields_stay_out_of_the_bot_api_body(rsps):
    rsps.post(SEND_URL, json=fixture("send_success.json"))

    adapter().send(outbound({"type": "transactional", "ttl": 120, "text": "Code 1234"}))

    body = sent_body(rsps.calls[0])
    assert "ttl" not in body
    assert body["type"] == "text"


def test_sender_name_is_cut_to_viber_limit_of_28_characters(rsps):
    rsps.post(SEND_URL, json=fixture("send_success.json"))

    adapter(display_name="Mitto Customer Care Department Zurich").send(outbound({"text": "Hi"}))

    assert sent_body(rsps.calls[0])["sender"] == {"name": "Mitto Customer Care Departme"}


def test_auth_token_is_redacted_in_the_recorded_exchange(rsps):
    rsps.post(SEND_URL, json=fixture("send_success.json"))

    result = adapter().send(outbound({"text": "Hi"}))

    assert result.exchange is not None
    assert result.exchange.request_headers["X-Viber-Auth-Token"] == "***"
    assert AUTH_TOKEN not in json.dumps(result.exchange.__dict__, default=str)
    assert result.exchange.response_body["message_token"] == 5741311803571721087


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ({}, "invalid_content"),
        ({"type": "promotional", "button": {"caption": "Go", "action": "https://mitto.ch"}}, "invalid_content"),
        ({"file": {"fileName": "a.pdf", "size": 10}}, "invalid_content"),
        ({"file": {"mediaUrl": "https://files.example.com/download?id=7", "size": 10}}, "invalid_content"),
        ({"file": {"mediaUrl": FILE_URL, "size": "many"}}, "invalid_content"),
    ],
    ids=["empty", "button-only", "file-without-url", "file-without-name", "file-size-not-a-number"],
)
def test_content_viber_cannot_carry_is_rejected_without_a_call(rsps, content, code):
    with pytest.raises(ProviderRejected) as error:
        adapter().send(outbound(content))

    assert error.value.code == code
    assert len(rsps.calls) == 0


# ---- file size -------------------------------------------------------------------------------


def test_file_size_comes_from_a_head_request_when_not_given(rsps):
    rsps.head(FILE_URL, headers={"Content-Length": "153600"})
    rsps.post(SEND_URL, json=fixture("send_success.json"))

    adapter().send(outbound({"file": {"mediaUrl": FILE_URL}}))

    assert rsps.calls[0].request.method == "HEAD"
    body = sent_body(rsps.calls[1])
    assert body["size"] == 153600
    assert body["file_name"] == "file-sample_150kB.pdf"


def test_file_size_falls_back_to_an_unread_get_when_head_gives_no_length(rsps):
    rsps.head(FILE_URL, status=405)
    rsps.get(FILE_URL, body=b"%PDF-1.4 ...", headers={"Content-Length": "153600"}, auto_calculate_content_length=False)
    rsps.post(SEND_URL, json=fixture("send_success.json"))

    adapter().send(outbound({"file": {"mediaUrl": FILE_URL, "fileName": "invoice.pdf"}}))

    assert [c.request.method for c in rsps.calls] == ["HEAD", "GET", "POST"]
    assert sent_body(rsps.calls[2])["size"] == 153600


def test_unknown_file_size_is_rejected_instead_of_sending_zero(rsps):
    rsps.head(FILE_URL, status=404)
    rsps.get(FILE_URL, status=404)

    with pytest.raises(ProviderRejected) as error:
        adapter().send(outbound({"file": {"mediaUrl": FILE_URL}}))

    assert error.value.code == "file_size_unknown"
    assert all(c.request.method != "POST" for c in rsps.calls)


def test_unreachable_file_host_is_retryable(rsps):
    rsps.head(FILE_URL, body=requests.ConnectionError("connection refused"))

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound({"file": {"mediaUrl": FILE_URL}}))

    assert error.value.code == "media_unreachable"


# ---- send errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "status_message", "error_class"),
    [
        (1, "invalidUrl", ProviderConfigError),
        (2, "invalidAuthToken", ProviderConfigError),
        (3, "badData", ProviderRejected),
        (4, "missingData", ProviderRejected),
        (5, "receiverNotRegistered", ProviderRejected),
        (6, "receiverNotSubscribed", ProviderRejected),
        (7, "publicAccountBlocked", ProviderConfigError),
        (8, "publicAccountNotFound", ProviderConfigError),
        (9, "publicAccountSuspended", ProviderConfigError),
        (10, "webhookNotSet", ProviderConfigError),
        (11, "receiverNoSuitableDevice", ProviderRejected),
        (12, "tooManyRequests", ProviderThrottled),
        (13, "apiVersionNotSupported", ProviderRejected),
        (14, "incompatibleWithVersion", ProviderRejected),
        (99, "somethingNew", ProviderRejected),
    ],
)
def test_status_in_an_http_200_answer_is_classified(rsps, status, status_message, error_class):
    rsps.post(SEND_URL, json={"status": status, "status_message": status_message, "chat_hostname": "SN-1_"})

    with pytest.raises(error_class) as error:
        adapter().send(outbound({"text": "Hi"}))

    assert type(error.value) is error_class
    assert error.value.code == str(status)
    assert error.value.text == status_message
    assert error.value.exchange is not None
    assert error.value.exchange.status_code == 200


@pytest.mark.parametrize(
    ("http_status", "error_class"),
    [
        (500, ProviderUnavailable),
        (502, ProviderUnavailable),
        (503, ProviderUnavailable),
        (429, ProviderThrottled),
        (401, ProviderConfigError),
        (400, ProviderRejected),
    ],
)
def test_http_errors_are_classified(rsps, http_status, error_class):
    rsps.post(SEND_URL, status=http_status, body="upstream trouble")

    with pytest.raises(error_class) as error:
        adapter().send(outbound({"text": "Hi"}))

    assert type(error.value) is error_class
    assert error.value.code == f"http_{http_status}"


def test_429_carries_retry_after(rsps):
    rsps.post(SEND_URL, status=429, headers={"Retry-After": "17"})

    with pytest.raises(ProviderThrottled) as error:
        adapter().send(outbound({"text": "Hi"}))

    assert error.value.retry_after == 17.0


def test_answer_without_a_status_is_retryable(rsps):
    rsps.post(SEND_URL, body="<html>gateway</html>")

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound({"text": "Hi"}))

    assert error.value.code == "bad_response"


@pytest.mark.parametrize("failure", [requests.ConnectTimeout("connect"), requests.ReadTimeout("read")])
def test_timeouts_are_retryable(rsps, failure):
    rsps.post(SEND_URL, body=failure)

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound({"text": "Hi"}))

    assert error.value.code == "timeout"
    assert AUTH_TOKEN not in json.dumps(error.value.exchange.__dict__, default=str)


# ---- webhook management ----------------------------------------------------------------------


def test_set_webhook_posts_url_and_event_types(rsps):
    rsps.post(f"{BASE_URL}/pa/set_webhook", json=fixture("set_webhook_success.json"))
    url = "https://gateway.example.com/callbacks/viber?ta=0fc524f8-2a78-11ec-9424-482ae3643973"

    answer = adapter().set_webhook(url=url, event_types=["delivered", "seen", "failed"])

    request = rsps.calls[0].request
    assert request.headers["X-Viber-Auth-Token"] == AUTH_TOKEN
    assert json.loads(request.body) == {
        "url": url,
        "event_types": ["delivered", "seen", "failed"],
        "send_name": True,
        "send_photo": False,
    }
    assert answer["status"] == 0


def test_set_webhook_without_event_types_asks_for_all_events(rsps):
    rsps.post(f"{BASE_URL}/pa/set_webhook", json=fixture("set_webhook_success.json"))

    adapter().set_webhook(url="https://gateway.example.com/callbacks/viber")

    assert "event_types" not in json.loads(rsps.calls[0].request.body)


def test_set_webhook_failure_raises_classified_error(rsps):
    rsps.post(f"{BASE_URL}/pa/set_webhook", json={"status": 1, "status_message": "Result[HttpRequest[POST ...]]"})

    with pytest.raises(ProviderConfigError):
        adapter().set_webhook(url="https://unreachable.example.com")


def test_remove_webhook_sets_an_empty_url(rsps):
    rsps.post(f"{BASE_URL}/pa/set_webhook", json={"status": 0, "status_message": "ok"})

    adapter().remove_webhook()

    assert json.loads(rsps.calls[0].request.body) == {"url": ""}


def test_get_account_info_shows_the_current_webhook(rsps):
    rsps.post(f"{BASE_URL}/pa/get_account_info", json=fixture("get_account_info_success.json"))

    info = adapter().get_account_info()

    assert rsps.calls[0].request.headers["X-Viber-Auth-Token"] == AUTH_TOKEN
    assert info["webhook"].startswith("https://gateway.example.com/callbacks/viber")


# ---- callback authenticity -------------------------------------------------------------------


def test_signed_callback_is_accepted():
    adapter().verify_callback(signed(raw_fixture("callback_delivered.json")))


def test_callback_with_one_byte_changed_is_rejected():
    body = raw_fixture("callback_delivered.json")
    request = signed(body)
    tampered = CallbackRequest(
        method="POST", body=body.replace(b"delivered", b"delivereD"), headers=request.headers, query={}
    )

    with pytest.raises(CallbackRejected) as error:
        adapter().verify_callback(tampered)

    assert error.value.status_code == 401


def test_callback_signed_with_another_token_is_rejected():
    with pytest.raises(CallbackRejected):
        adapter().verify_callback(signed(raw_fixture("callback_delivered.json"), token="another-bot-token"))


def test_unsigned_callback_is_rejected():
    request = CallbackRequest(method="POST", body=raw_fixture("callback_delivered.json"), headers={}, query={})

    with pytest.raises(CallbackRejected) as error:
        adapter().verify_callback(request)

    assert error.value.status_code == 401


# ---- callback parsing ------------------------------------------------------------------------

VIBER_TIME = datetime(2016, 3, 12, 6, 29, 57, 627000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "status", "error_text"),
    [
        ("callback_delivered.json", "Delivered", ""),
        ("callback_seen.json", "Read", ""),
        ("callback_failed.json", "Failed", "failure description"),
    ],
)
def test_delivery_callbacks_become_status_events(name, status, error_text):
    events = adapter().parse_callback(signed(raw_fixture(name)))

    assert events == [
        StatusEvent(
            status=status,
            provider_message_id="4912661846655238145",
            occurred_at=VIBER_TIME,
            error_text=error_text,
            raw=fixture(name),
        )
    ]


@pytest.mark.parametrize(
    ("name", "expected_content"),
    [
        ("callback_message_text.json", {"type": "text", "text": "a message to the service"}),
        (
            "callback_message_picture.json",
            {
                "type": "image",
                "url": "https://dl-media.viber.com/1/share/2/long/bots/generic/image.jpg",
                "caption": "look at this",
                "filename": "image.jpg",
            },
        ),
        (
            "callback_message_video.json",
            {"type": "video", "url": "https://dl-media.viber.com/video.mp4", "size": 10000},
        ),
        (
            "callback_message_file.json",
            {
                "type": "document",
                "url": "https://dl-media.viber.com/doc.pdf",
                "filename": "invoice.pdf",
                "size": 153600,
            },
        ),
        ("callback_message_location.json", {"type": "location", "latitude": 50.76891, "longitude": 6.11499}),
        ("callback_message_contact.json", {"type": "contact", "name": "Itamar", "phoneNumber": "+972511123123"}),
        (
            "callback_message_sticker.json",
            {"type": "sticker", "stickerId": 46105, "url": "https://viber.com/sticker/46105.png"},
        ),
    ],
)
def test_user_messages_become_inbound_events(name, expected_content):
    events = adapter().parse_callback(signed(raw_fixture(name)))

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, InboundEvent)
    assert event.provider_event_id == "4912661846655238145"
    assert event.sender == "01234567890A="
    assert event.sender_name == "John McClane"
    assert event.occurred_at == VIBER_TIME
    assert event.content == expected_content


@pytest.mark.parametrize(
    ("name", "reachable"),
    [
        ("callback_subscribed.json", True),
        ("callback_conversation_started.json", True),
        ("callback_unsubscribed.json", False),
    ],
)
def test_subscription_callbacks_become_user_state_events(name, reachable):
    events = adapter().parse_callback(signed(raw_fixture(name)))

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, UserStateEvent)
    assert event.user == "01234567890A="
    assert event.reachable is reachable
    assert event.reason == fixture(name)["event"]


def test_webhook_check_callback_is_only_acknowledged():
    assert adapter().parse_callback(signed(raw_fixture("callback_webhook.json"))) == []


def test_callback_that_is_not_a_json_object_is_an_error():
    with pytest.raises(ValueError, match="JSON"):
        adapter().parse_callback(signed(b"[1, 2]"))
