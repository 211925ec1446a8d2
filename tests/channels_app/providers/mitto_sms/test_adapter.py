"""Mitto SMS adapter: the exact HTTP request, response classification, DLRs and two-way SMS."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode
from uuid import UUID, uuid4

import pytest
import requests
import responses

from channels_app.callbacks.tokens import callback_url_with_token, issue_callback_token
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
from channels_app.providers.mitto_sms.adapter import MittoSmsAdapter

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "mitto_sms"
BASE_URL = "https://rest.mitto.test"
SEND_URL = f"{BASE_URL}/sms"
API_KEY = "mitto-api-key-3f9a1c7e5b"
MESSAGE_ID = UUID("0b7f3a52-9c1e-4d6b-8a2f-3e5d7c9b1a40")
ACCOUNT_ID = UUID("4ae53d46-66d8-4aff-9f13-621f53b90001")
MITTO_ID = "715118ef-b7c9-4f5a-9e54-2d2f7a9c0b11"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str):
    return json.loads(fixture_bytes(name))


@pytest.fixture(autouse=True)
def _signing_keys(settings):
    settings.MITTO_DLR_SIGNING_KEYS = ["mitto-dlr-test-key-0123456789abcdef0123456789"]
    settings.MITTO_INBOUND_SIGNING_KEYS = ["mitto-inbound-test-key-0123456789abcdef012345"]
    settings.CALLBACK_TOKEN_LIFETIME_SECONDS = 600


def make_adapter(*, test_mode: bool = False, sender: str = "Acme") -> MittoSmsAdapter:
    account = ProviderAccount(
        id=ACCOUNT_ID,
        channel="sms",
        base_url=BASE_URL + "/",
        credentials={"api_key": API_KEY},
        sender=sender,
        test_mode=test_mode,
    )
    return MittoSmsAdapter(account, session=requests.Session())


def make_message(content: dict, callback_url: str | None = None) -> OutboundMessage:
    return OutboundMessage(id=MESSAGE_ID, destination="+41751231234", content=content, callback_url=callback_url)


def sent_json(call) -> dict:
    return json.loads(call.request.body)


# ---- sending -------------------------------------------------------------------------------


@responses.activate
def test_send_posts_the_exact_mitto_request():
    responses.post(SEND_URL, json=fixture_json("send_success_id.json"))

    make_adapter().send(make_message({"text": "Hi, this is test msg.", "sender": "+44123456789"}))

    (call,) = responses.calls
    assert call.request.url == SEND_URL
    assert call.request.method == "POST"
    assert call.request.headers["X-Mitto-API-Key"] == API_KEY
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent_json(call) == {
        "from": "+44123456789",
        "to": "41751231234",
        "text": "Hi, this is test msg.",
        "type": "auto",
        "reference": str(MESSAGE_ID),
    }


@responses.activate
def test_send_falls_back_to_the_account_sender():
    responses.post(SEND_URL, json=fixture_json("send_success_id.json"))

    make_adapter(sender="AcmeShop").send(make_message({"text": "Your code is 1234"}))

    assert sent_json(responses.calls[0])["from"] == "AcmeShop"


@responses.activate
def test_send_passes_the_tokenised_callback_url_through():
    responses.post(SEND_URL, json=fixture_json("send_success_id.json"))
    token = issue_callback_token(subject=str(MESSAGE_ID), purpose="dlr")
    callback = callback_url_with_token("https://gw.example.com/callbacks/sms/dlr", token)

    make_adapter().send(make_message({"text": "Hi"}, callback_url=callback))

    assert sent_json(responses.calls[0])["callback"] == callback


@responses.activate
def test_send_in_test_mode_asks_mitto_not_to_deliver():
    responses.post(SEND_URL, json=fixture_json("send_success_test_mode.json"))

    result = make_adapter(test_mode=True).send(make_message({"text": "Hi"}))

    assert sent_json(responses.calls[0])["test"] is True
    assert result.provider_message_id == "9a7d3c52-0e6b-4f11-8c2a-5b4e6f7d8e90"


@responses.activate
def test_send_without_test_mode_sends_no_test_flag():
    responses.post(SEND_URL, json=fixture_json("send_success_id.json"))

    make_adapter(test_mode=False).send(make_message({"text": "Hi"}))

    assert "test" not in sent_json(responses.calls[0])


@pytest.mark.parametrize(
    ("fixture", "expected_id"),
    [
        ("send_success_id.json", MITTO_ID),
        ("send_success_ids.json", "2f0c8a4e-51d3-4b8e-a0e7-6c1d9f3e8a20"),
    ],
)
@responses.activate
def test_send_reads_the_mitto_id_in_either_form(fixture, expected_id):
    responses.post(SEND_URL, json=fixture_json(fixture))

    result = make_adapter().send(make_message({"text": "Hi"}))

    assert result.provider_message_id == expected_id
    assert result.final is False  # delivery reports follow
    assert result.exchange is not None
    assert result.exchange.status_code == 200


ERRORS = fixture_json("send_error_responses.json")


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected_class", "expected_code", "expected_text"),
    [
        pytest.param(200, ERRORS["internal_error"], {}, ProviderUnavailable, "1", "Internal error", id="code-1"),
        pytest.param(200, ERRORS["invalid_type"], {}, ProviderRejected, "2", "Invalid type", id="code-2"),
        pytest.param(200, ERRORS["empty_message"], {}, ProviderRejected, "3", "Empty message", id="code-3"),
        pytest.param(200, ERRORS["invalid_text"], {}, ProviderRejected, "4", "invalid for the", id="code-4"),
        pytest.param(200, ERRORS["empty_sender"], {}, ProviderRejected, "5", "Empty sender", id="code-5"),
        pytest.param(200, ERRORS["invalid_sender"], {}, ProviderRejected, "6", "Invalid sender", id="code-6"),
        pytest.param(200, ERRORS["empty_receiver"], {}, ProviderRejected, "7", "Empty receiver", id="code-7"),
        pytest.param(400, ERRORS["invalid_receiver"], {}, ProviderRejected, "8", "Invalid receiver", id="400-code-8"),
        pytest.param(401, ERRORS["unauthorized"], {}, ProviderConfigError, "http_401", "Invalid API key", id="401"),
        pytest.param(403, "Forbidden", {}, ProviderConfigError, "http_403", "whitelisted", id="403-ip"),
        pytest.param(429, ERRORS["throttled"], {"Retry-After": "7"}, ProviderThrottled, "http_429", "", id="429"),
        pytest.param(503, ERRORS["server_error"], {}, ProviderUnavailable, "http_503", "unavailable", id="503"),
        pytest.param(502, "<html>Bad gateway</html>", {}, ProviderUnavailable, "http_502", "", id="502-html"),
        pytest.param(400, "Bad request", {}, ProviderRejected, "http_400", "", id="400-text"),
        pytest.param(200, "OK", {}, ProviderUnavailable, "bad_response", "", id="200-unparseable"),
    ],
)
@responses.activate
def test_send_classifies_provider_errors(status, body, headers, expected_class, expected_code, expected_text):
    if isinstance(body, dict):
        responses.post(SEND_URL, json=body, status=status, headers=headers)
    else:
        responses.post(SEND_URL, body=body, status=status, headers=headers)

    with pytest.raises(expected_class) as excinfo:
        make_adapter().send(make_message({"text": "Hi"}))

    error = excinfo.value
    assert type(error) is expected_class
    assert error.code == expected_code
    assert expected_text in error.text
    assert error.exchange is not None
    assert error.exchange.status_code == status


@responses.activate
def test_throttling_honours_retry_after():
    responses.post(SEND_URL, json=ERRORS["throttled"], status=429, headers={"Retry-After": "12"})

    with pytest.raises(ProviderThrottled) as excinfo:
        make_adapter().send(make_message({"text": "Hi"}))

    assert excinfo.value.retry_after == 12.0
    assert excinfo.value.retryable is True


@pytest.mark.parametrize(
    "network_error",
    [requests.exceptions.ConnectTimeout("connect timed out"), requests.exceptions.ConnectionError("refused")],
)
@responses.activate
def test_network_failures_are_retryable(network_error):
    responses.post(SEND_URL, body=network_error)

    with pytest.raises(ProviderUnavailable) as excinfo:
        make_adapter().send(make_message({"text": "Hi"}))

    assert excinfo.value.retryable is True
    assert excinfo.value.exchange is not None


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, fixture_json("send_success_id.json")), (401, {"responseText": f"Invalid API key {API_KEY}"})],
)
@responses.activate
def test_api_key_never_reaches_the_recorded_exchange(status, body):
    responses.post(SEND_URL, json=body, status=status)

    try:
        exchange = make_adapter().send(make_message({"text": "Hi"})).exchange
    except ProviderConfigError as error:
        exchange = error.exchange

    assert exchange is not None
    assert API_KEY not in json.dumps(asdict(exchange))
    assert exchange.request_headers["X-Mitto-API-Key"] == "***"


# ---- delivery reports ----------------------------------------------------------------------


def dlr_token(subject: UUID = MESSAGE_ID) -> str:
    return issue_callback_token(subject=str(subject), purpose="dlr")


def dlr_post(body: bytes, token: str | None) -> CallbackRequest:
    return CallbackRequest(
        method="POST",
        body=body,
        headers={"content-type": "application/json"},
        query={"token": token} if token is not None else {},
    )


def test_dlr_with_a_valid_token_is_accepted():
    make_adapter().verify_callback(dlr_post(fixture_bytes("dlr_delivered.json"), dlr_token()))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", id="forged"),
        pytest.param("inbound", id="inbound-purpose"),
        pytest.param("expired", id="expired"),
        pytest.param("not-a-uuid", id="subject-not-an-id"),
    ],
)
def test_dlr_without_a_valid_token_is_rejected(token):
    if token == "inbound":
        token = issue_callback_token(subject=str(MESSAGE_ID), purpose="inbound")
    elif token == "expired":
        token = issue_callback_token(subject=str(MESSAGE_ID), purpose="dlr", lifetime=-1)
    elif token == "not-a-uuid":
        token = issue_callback_token(subject="12345", purpose="dlr")
    request = dlr_post(fixture_bytes("dlr_delivered.json"), token)
    adapter = make_adapter()

    with pytest.raises(CallbackRejected) as excinfo:
        adapter.verify_callback(request)
    assert excinfo.value.status_code == 401
    with pytest.raises(CallbackRejected):
        adapter.parse_callback(request)


def test_dlr_post_json_becomes_a_status_event_for_the_tokens_message():
    events = make_adapter().parse_callback(dlr_post(fixture_bytes("dlr_delivered.json"), dlr_token()))

    assert events == [
        StatusEvent(
            status="Delivered",
            provider_message_id=MITTO_ID,
            message_id=MESSAGE_ID,
            error_code="",
            raw=fixture_json("dlr_delivered.json"),
        )
    ]


def test_undelivered_dlr_keeps_the_error_code():
    (event,) = make_adapter().parse_callback(dlr_post(fixture_bytes("dlr_undelivered.json"), dlr_token()))

    assert event.status == "Failed"
    assert event.error_code == "001"
    assert event.error_text == "UNDELIV"
    assert event.message_id == MESSAGE_ID


def test_message_id_comes_from_the_token_not_the_body():
    other = uuid4()
    body = json.dumps({"messageId": MITTO_ID, "status": "DELIVRD", "reference": str(MESSAGE_ID)}).encode()

    (event,) = make_adapter().parse_callback(dlr_post(body, dlr_token(other)))

    assert event.message_id == other


def test_dlr_get_reads_the_same_keys_from_the_query_and_keeps_the_token_out_of_raw():
    token = dlr_token()
    request = CallbackRequest(
        method="GET",
        body=b"",
        headers={},
        query={"token": token, "messageId": MITTO_ID, "status": "delivered", "errorcode": "0"},
    )

    (event,) = make_adapter().parse_callback(request)

    assert event.status == "Delivered"
    assert event.provider_message_id == MITTO_ID
    assert event.message_id == MESSAGE_ID
    assert event.raw == {"messageId": MITTO_ID, "status": "delivered", "errorcode": "0"}


@pytest.mark.parametrize(
    ("provider_status", "expected"),
    [
        ("DELIVRD", "Delivered"),
        ("delivered", "Delivered"),
        ("Delivered", "Delivered"),
        ("UNDELIV", "Failed"),
        ("undelivered", "Failed"),
        ("EXPIRED", "Failed"),
        ("REJECTD", "Failed"),
        ("rejected", "Failed"),
        ("DELETED", "Failed"),
        ("UNKNOWN", "Failed"),
        ("failed", "Failed"),
        ("Failed", "Failed"),
        ("ACCEPTD", "Sent"),
        ("ENROUTE", "Sent"),
        ("buffered", "Sent"),
        ("sent", "Sent"),
        ("accepted", "Sent"),
        (" DELIVRD ", "Delivered"),
    ],
)
def test_dlr_status_mapping(provider_status, expected):
    body = json.dumps({"messageId": MITTO_ID, "status": provider_status, "errorcode": ""}).encode()

    (event,) = make_adapter().parse_callback(dlr_post(body, dlr_token()))

    assert event.status == expected


@pytest.mark.parametrize("provider_status", ["", "~status~", "SCHEDULED"])
def test_unknown_dlr_status_is_ignored(provider_status):
    body = json.dumps({"messageId": MITTO_ID, "status": provider_status}).encode()

    assert make_adapter().parse_callback(dlr_post(body, dlr_token())) == []


@pytest.mark.parametrize("body", [b'{"messageId": "abc", "status":', b"[1, 2, 3]"])
def test_malformed_dlr_json_raises_value_error(body):
    with pytest.raises(ValueError):
        make_adapter().parse_callback(dlr_post(body, dlr_token()))


# ---- two-way SMS ---------------------------------------------------------------------------


def inbound_token(subject: UUID = ACCOUNT_ID) -> str:
    return issue_callback_token(subject=str(subject), purpose="inbound", lifetime=365 * 24 * 3600)


def test_verify_inbound_returns_the_traffic_account_of_the_token():
    request = CallbackRequest(method="POST", body=b"{}", headers={}, query={"token": inbound_token()})

    assert MittoSmsAdapter.verify_inbound(request) == ACCOUNT_ID


@pytest.mark.parametrize("purpose", ["dlr", None])
def test_verify_inbound_rejects_dlr_tokens_and_missing_tokens(purpose):
    query = {"token": issue_callback_token(subject=str(ACCOUNT_ID), purpose="dlr")} if purpose else {}
    request = CallbackRequest(method="POST", body=b"{}", headers={}, query=query)

    with pytest.raises(CallbackRejected):
        MittoSmsAdapter.verify_inbound(request)


def test_inbound_json_becomes_an_inbound_text_event():
    request = CallbackRequest(
        method="POST",
        body=fixture_bytes("inbound_json.json"),
        headers={"content-type": "application/json"},
        query={"token": inbound_token()},
    )

    events = make_adapter().parse_inbound(request)

    assert events == [
        InboundEvent(
            provider_event_id="b3e1f0d2-7c4a-4e59-9d1b-0a8f6c2e4d17",
            sender="+41791234567",
            content={"type": "text", "text": "STOP promotions please"},
            occurred_at=datetime(2024, 5, 2, 9, 15, 27, tzinfo=UTC),
            raw=fixture_json("inbound_json.json"),
        )
    ]


def test_inbound_tolerates_alternative_field_names():
    request = CallbackRequest(
        method="POST", body=fixture_bytes("inbound_alternate_names.json"), headers={}, query={"token": inbound_token()}
    )

    (event,) = make_adapter().parse_inbound(request)

    assert event.provider_event_id == "c4f2a1e3-8d5b-4f6a-0e2c-1b9a7d3f5e28"
    assert event.sender == "+447700900123"
    assert event.content == {"type": "text", "text": "Yes, confirm my booking"}


def test_inbound_form_encoded_body():
    body = urlencode({"from": "41791234567", "to": "41798765432", "text": "Ja gerne", "id": "mo-77"}).encode()
    request = CallbackRequest(
        method="POST",
        body=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        query={"token": inbound_token()},
    )

    (event,) = make_adapter().parse_inbound(request)

    assert (event.provider_event_id, event.sender, event.content["text"]) == (
        "mo-77",
        "+41791234567",
        "Ja gerne",
    )
    assert "token" not in event.raw


def test_inbound_from_the_query_string():
    request = CallbackRequest(
        method="GET",
        body=b"",
        headers={},
        query={"token": inbound_token(), "sender": "41791234567", "message": "Hello", "messageId": "mo-78"},
    )

    (event,) = make_adapter().parse_inbound(request)

    assert (event.provider_event_id, event.sender, event.content["text"]) == (
        "mo-78",
        "+41791234567",
        "Hello",
    )
    assert event.raw == {"sender": "41791234567", "message": "Hello", "messageId": "mo-78"}


def test_inbound_alphanumeric_sender_is_kept_as_is():
    body = json.dumps({"from": "InfoShop", "text": "Hi", "id": "mo-79"}).encode()

    (event,) = make_adapter().parse_inbound(
        CallbackRequest(method="POST", body=body, headers={}, query={"token": inbound_token()})
    )

    assert event.sender == "InfoShop"


def test_inbound_without_id_gets_a_stable_content_hash():
    def parse(text: str) -> str:
        body = json.dumps({"from": "41791234567", "text": text, "timestamp": "2024-05-02T09:15:27Z"}).encode()
        (event,) = make_adapter().parse_inbound(
            CallbackRequest(method="POST", body=body, headers={}, query={"token": inbound_token()})
        )
        return event.provider_event_id

    first = parse("Hello")

    assert len(first) == 64
    assert parse("Hello") == first  # a retried forward deduplicates
    assert parse("Hello!") != first


def test_inbound_without_sender_is_malformed():
    body = json.dumps({"text": "Hi", "id": "mo-80"}).encode()

    with pytest.raises(ValueError):
        make_adapter().parse_inbound(
            CallbackRequest(method="POST", body=body, headers={}, query={"token": inbound_token()})
        )


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({}, id="missing-token"),
        pytest.param({"token": "dlr"}, id="dlr-token"),
        pytest.param({"token": "other-account"}, id="other-account"),
    ],
)
def test_parse_inbound_refuses_a_token_not_issued_for_this_account(query):
    if query.get("token") == "dlr":
        query = {"token": issue_callback_token(subject=str(ACCOUNT_ID), purpose="dlr")}
    elif query.get("token") == "other-account":
        query = {"token": inbound_token(uuid4())}
    request = CallbackRequest(method="POST", body=fixture_bytes("inbound_json.json"), headers={}, query=query)

    with pytest.raises(CallbackRejected):
        make_adapter().parse_inbound(request)
