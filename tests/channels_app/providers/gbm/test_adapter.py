import base64
import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID, uuid4

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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
from channels_app.providers.gbm.adapter import SCOPE, GbmAdapter, verification_secret

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "gbm"
BASE_URL = "https://businessmessages.googleapis.com"
CONVERSATION_ID = "bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0"
SEND_URL = f"{BASE_URL}/v1/conversations/{CONVERSATION_ID}/messages"
TOKEN_URI = "https://oauth2.googleapis.com/token"
MESSAGE_ID = UUID("9b6f2e4c-1d3a-4f8e-b5c7-2a9d8e1f0c36")
STATIC_TOKEN = "ya29.static-operator-token"
FETCHED_TOKEN = "ya29.c.b0AXv0zTPtest-access-token"
CLIENT_TOKEN = "SJENCPGJESMGUFPY"
TEXT = {"text": {"message": "Hi"}}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def raw_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def service_account_json(rsa_key) -> str:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps({
        "type": "service_account",
        "project_id": "mitto-gbm-test",
        "private_key_id": "4f0e3a1b2c",
        "private_key": pem,
        # A fresh address per test keeps the process-wide token cache from leaking between tests.
        "client_email": f"gbm-{uuid4().hex[:8]}@mitto-gbm-test.iam.gserviceaccount.com",
        "client_id": "104857600000000000001",
        "token_uri": TOKEN_URI,
    })


def adapter(**credentials: str) -> GbmAdapter:
    return GbmAdapter(
        ProviderAccount(
            id=uuid4(),
            channel="gbm",
            base_url=BASE_URL,
            credentials=credentials or {"access_token": STATIC_TOKEN, "client_token": CLIENT_TOKEN},
            display_name="Mitto Support",
        )
    )


def outbound(content: dict[str, Any]) -> OutboundMessage:
    return OutboundMessage(id=MESSAGE_ID, destination=CONVERSATION_ID, content=content)


def signed(body: bytes, token: str = CLIENT_TOKEN) -> CallbackRequest:
    signature = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha512).digest()).decode()
    return CallbackRequest(method="POST", body=body, headers={"x-goog-signature": signature}, query={})


def unsigned(body: bytes) -> CallbackRequest:
    return CallbackRequest(method="POST", body=body, headers={}, query={})


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def token_calls(rsps) -> list[Any]:
    return [c for c in rsps.calls if c.request.url == TOKEN_URI]


# ---- sending -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(fixture("send_cases.json")))
def test_send_builds_the_exact_business_messages_request(rsps, case):
    # given
    spec = fixture("send_cases.json")[case]
    rsps.post(SEND_URL + spec["query"], json=fixture("send_success.json"))

    # when
    result = adapter().send(outbound(spec["content"]))

    # then
    request = rsps.calls[0].request
    assert request.url == SEND_URL + spec["query"]
    assert request.headers["Authorization"] == f"Bearer {STATIC_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == spec["expected"]
    assert result.provider_message_id == str(MESSAGE_ID)


def test_access_token_is_redacted_in_the_recorded_exchange(rsps):
    rsps.post(SEND_URL, json=fixture("send_success.json"))

    result = adapter().send(outbound(TEXT))

    assert result.exchange is not None
    assert result.exchange.request_headers["Authorization"] == "***"
    assert STATIC_TOKEN not in json.dumps(result.exchange.__dict__, default=str)


def test_content_without_a_message_kind_is_rejected_without_a_call(rsps):
    with pytest.raises(ProviderRejected) as error:
        adapter().send(outbound({"fallback": "only a fallback"}))

    assert error.value.code == "invalid_content"
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    ("name", "http_status", "error_class", "code"),
    [
        ("failed_precondition", 400, ProviderRejected, "FAILED_PRECONDITION"),
        ("invalid_argument", 400, ProviderRejected, "INVALID_ARGUMENT"),
        ("unauthenticated", 401, ProviderConfigError, "UNAUTHENTICATED"),
        ("permission_denied", 403, ProviderConfigError, "PERMISSION_DENIED"),
        ("not_found", 404, ProviderRejected, "NOT_FOUND"),
        ("resource_exhausted", 429, ProviderThrottled, "RESOURCE_EXHAUSTED"),
        ("internal", 500, ProviderUnavailable, "INTERNAL"),
        ("unavailable", 503, ProviderUnavailable, "UNAVAILABLE"),
    ],
)
def test_errors_are_classified_with_google_status_and_message(rsps, name, http_status, error_class, code):
    body = fixture("send_errors.json")[name]
    rsps.post(SEND_URL, status=http_status, json=body)

    with pytest.raises(error_class) as error:
        adapter().send(outbound(TEXT))

    assert type(error.value) is error_class
    assert error.value.code == code
    assert error.value.text == body["error"]["message"]
    assert error.value.exchange.status_code == http_status


def test_error_without_a_google_body_keeps_the_http_status(rsps):
    rsps.post(SEND_URL, status=502, body="<html>Bad Gateway</html>")

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound(TEXT))

    assert error.value.code == "http_502"


def test_429_carries_retry_after(rsps):
    body = fixture("send_errors.json")["resource_exhausted"]
    rsps.post(SEND_URL, status=429, json=body, headers={"Retry-After": "30"})

    with pytest.raises(ProviderThrottled) as error:
        adapter().send(outbound(TEXT))

    assert error.value.retry_after == 30.0


def test_message_id_already_accepted_counts_as_sent(rsps):
    # given: an earlier attempt got through but its answer was lost
    rsps.post(SEND_URL, status=409, json=fixture("send_errors.json")["already_exists"])

    # when
    result = adapter().send(outbound(TEXT))

    # then
    assert result.provider_message_id == str(MESSAGE_ID)


@pytest.mark.parametrize("failure", [requests.ConnectTimeout("connect"), requests.ReadTimeout("read")])
def test_timeouts_are_retryable(rsps, failure):
    rsps.post(SEND_URL, body=failure)

    with pytest.raises(ProviderUnavailable) as error:
        adapter().send(outbound(TEXT))

    assert error.value.code == "timeout"


# ---- OAuth ---------------------------------------------------------------------------------


def test_service_account_token_is_fetched_with_a_signed_jwt_assertion(rsps, rsa_key, service_account_json):
    # given
    rsps.post(TOKEN_URI, json=fixture("token_success.json"))
    rsps.post(SEND_URL, json=fixture("send_success.json"))
    before = int(time.time())

    # when
    adapter(service_account_json=service_account_json).send(outbound(TEXT))

    # then: the token call is a JWT-bearer form post
    token_request = rsps.calls[0].request
    assert token_request.url == TOKEN_URI
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(token_request.body)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assertion = form["assertion"][0]
    claims = jwt.decode(assertion, rsa_key.public_key(), algorithms=["RS256"], audience=TOKEN_URI)
    assert claims["iss"] == json.loads(service_account_json)["client_email"]
    assert claims["scope"] == SCOPE == "https://www.googleapis.com/auth/businessmessages"
    assert claims["aud"] == TOKEN_URI
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(assertion)["kid"] == "4f0e3a1b2c"
    # and the message goes out with the fetched token
    assert rsps.calls[1].request.headers["Authorization"] == f"Bearer {FETCHED_TOKEN}"


def test_token_is_cached_across_sends(rsps, service_account_json):
    rsps.post(TOKEN_URI, json=fixture("token_success.json"))
    rsps.post(SEND_URL, json=fixture("send_success.json"))
    gbm = adapter(service_account_json=service_account_json)

    gbm.send(outbound(TEXT))
    gbm.send(outbound(TEXT))
    # a new adapter for the same service account (the next task) reuses it too
    adapter(service_account_json=service_account_json).send(outbound(TEXT))

    assert len(token_calls(rsps)) == 1
    assert len(rsps.calls) == 4


def test_token_close_to_expiry_is_renewed(rsps, service_account_json):
    # given: Google grants a token that lives less than the renewal margin
    rsps.post(TOKEN_URI, json={"access_token": FETCHED_TOKEN, "expires_in": 60, "token_type": "Bearer"})
    rsps.post(SEND_URL, json=fixture("send_success.json"))
    gbm = adapter(service_account_json=service_account_json)

    # when
    gbm.send(outbound(TEXT))
    gbm.send(outbound(TEXT))

    # then
    assert len(token_calls(rsps)) == 2


def test_concurrent_senders_share_one_token_fetch(rsps, service_account_json):
    def slow_token(request):
        time.sleep(0.2)  # every sender arrives while the first fetch is still in flight
        return 200, {}, json.dumps(fixture("token_success.json"))

    rsps.add_callback(responses.POST, TOKEN_URI, callback=slow_token)
    rsps.post(SEND_URL, json=fixture("send_success.json"))
    gbm = adapter(service_account_json=service_account_json)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: gbm.send(outbound(TEXT)), range(8)))

    assert len(results) == 8
    assert len(token_calls(rsps)) == 1


def test_401_drops_the_cached_token_so_the_next_send_fetches_a_new_one(rsps, service_account_json):
    rsps.post(TOKEN_URI, json=fixture("token_success.json"))
    rsps.post(SEND_URL, json=fixture("send_success.json"))
    rsps.post(SEND_URL, status=401, json=fixture("send_errors.json")["unauthenticated"])
    rsps.post(SEND_URL, json=fixture("send_success.json"))
    gbm = adapter(service_account_json=service_account_json)

    gbm.send(outbound(TEXT))
    with pytest.raises(ProviderConfigError):
        gbm.send(outbound(TEXT))
    gbm.send(outbound(TEXT))

    assert len(token_calls(rsps)) == 2


@pytest.mark.parametrize(
    ("status", "body", "error_class", "code"),
    [
        (400, fixture("token_invalid_grant.json"), ProviderConfigError, "invalid_grant"),
        (401, {"error": "invalid_client", "error_description": "The OAuth client was not found."},
         ProviderConfigError, "invalid_client"),
        (429, {"error": "rate_limit_exceeded"}, ProviderThrottled, "rate_limit_exceeded"),
        (503, {}, ProviderUnavailable, "http_503"),
    ],
)
def test_token_endpoint_errors_are_classified_and_nothing_is_sent(
    rsps, service_account_json, status, body, error_class, code
):
    rsps.post(TOKEN_URI, status=status, json=body)

    with pytest.raises(error_class) as error:
        adapter(service_account_json=service_account_json).send(outbound(TEXT))

    assert type(error.value) is error_class
    assert error.value.code == code
    assert [c.request.url for c in rsps.calls] == [TOKEN_URI]
    exchange = error.value.exchange
    assert exchange.status_code == status
    assert exchange.request_body["assertion"] == "***"


def test_token_endpoint_timeout_is_retryable(rsps, service_account_json):
    rsps.post(TOKEN_URI, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(ProviderUnavailable) as error:
        adapter(service_account_json=service_account_json).send(outbound(TEXT))

    assert error.value.code == "timeout"


def test_fetched_token_is_redacted_in_the_token_exchange(rsps, service_account_json):
    rsps.post(TOKEN_URI, status=200, json={"token_type": "Bearer", "expires_in": 3599})

    with pytest.raises(ProviderUnavailable) as error:
        adapter(service_account_json=service_account_json).send(outbound(TEXT))

    assert error.value.code == "bad_response"
    assert error.value.exchange.response_body == {"token_type": "Bearer", "expires_in": 3599}


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"service_account_json": "not json"},
        {"service_account_json": json.dumps({"client_email": "a@b.c"})},
        {"service_account_json": json.dumps({"client_email": "a@b.c", "private_key": "not a PEM key"})},
    ],
    ids=["none", "not-json", "no-private-key", "unusable-key"],
)
def test_unusable_credentials_are_a_config_error(rsps, credentials):
    account = ProviderAccount(id=uuid4(), channel="gbm", base_url=BASE_URL, credentials=credentials)

    with pytest.raises(ProviderConfigError):
        GbmAdapter(account).send(outbound(TEXT))

    assert len(rsps.calls) == 0


# ---- callback authenticity -------------------------------------------------------------------


def test_signed_callback_is_accepted():
    adapter().verify_callback(signed(raw_fixture("callback_message_text.json")))


def test_callback_with_one_byte_changed_is_rejected():
    body = raw_fixture("callback_message_text.json")
    tampered = CallbackRequest(
        method="POST", body=body.replace(b"blue", b"Blue"), headers=signed(body).headers, query={}
    )

    with pytest.raises(CallbackRejected) as error:
        adapter().verify_callback(tampered)

    assert error.value.status_code == 401


def test_callback_signed_with_another_client_token_is_rejected():
    with pytest.raises(CallbackRejected):
        adapter().verify_callback(signed(raw_fixture("callback_receipts.json"), token="ANOTHERTOKEN0000"))


def test_unsigned_callback_is_rejected():
    with pytest.raises(CallbackRejected):
        adapter().verify_callback(unsigned(raw_fixture("callback_receipts.json")))


def test_unsigned_webhook_verification_carrying_our_client_token_is_accepted():
    request = unsigned(raw_fixture("callback_verification.json"))

    adapter().verify_callback(request)

    assert verification_secret(request) == "1234567890"
    assert adapter().parse_callback(request) == []


def test_webhook_verification_with_another_client_token_is_rejected():
    body = json.dumps({"secret": "1234567890", "clientToken": "ANOTHERTOKEN0000"}).encode()

    with pytest.raises(CallbackRejected):
        adapter().verify_callback(unsigned(body))


def test_verification_secret_is_none_for_ordinary_callbacks():
    assert verification_secret(signed(raw_fixture("callback_message_text.json"))) is None


# ---- callback parsing ------------------------------------------------------------------------


def test_receipts_become_status_events():
    events = adapter().parse_callback(signed(raw_fixture("callback_receipts.json")))

    receipts = fixture("callback_receipts.json")["receipts"]["receipts"]
    when = datetime(2021, 6, 14, 9, 21, 4, 516347, tzinfo=UTC)
    assert events == [
        StatusEvent(
            status="Delivered",
            provider_message_id=str(MESSAGE_ID),
            message_id=MESSAGE_ID,
            occurred_at=when,
            raw=receipts[0],
        ),
        StatusEvent(status="Read", provider_message_id="legacy-message-7", occurred_at=when, raw=receipts[1]),
    ]


def test_text_message_becomes_an_inbound_event():
    events = adapter().parse_callback(signed(raw_fixture("callback_message_text.json")))

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, InboundEvent)
    assert event.provider_event_id == "4F2B1E8A-3C0D-4F4A-9B12-6D8E0C7A5B31"
    assert event.sender == CONVERSATION_ID
    assert event.sender_name == "Jane Doe"
    assert event.content == {"type": "text", "text": "Hello, do you have the blue one in stock?"}
    assert event.occurred_at == datetime(2021, 6, 14, 9, 20, 11, 123456, tzinfo=UTC)


def test_image_message_becomes_an_inbound_event():
    events = adapter().parse_callback(signed(raw_fixture("callback_message_image.json")))

    assert len(events) == 1
    assert events[0].provider_event_id == "8C1D2E3F-4A5B-4C6D-8E7F-9A0B1C2D3E4F"
    assert events[0].content == {
        "type": "image",
        "url": "https://storage.googleapis.com/business-messages-media/user-upload-3f2a.jpg",
    }


def test_suggestion_tap_becomes_a_reply():
    events = adapter().parse_callback(signed(raw_fixture("callback_suggestion_response.json")))

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, InboundEvent)
    assert event.sender == CONVERSATION_ID
    assert event.content == {"type": "reply", "text": "Reply two", "payload": "hello-reply-2"}
    assert event.provider_event_id == "7A6B5C4D-3E2F-4A1B-9C8D-7E6F5A4B3C2D@2021-06-14T09:23:45.678901Z"


def test_same_suggestion_callback_redelivered_keeps_its_event_id():
    body = raw_fixture("callback_suggestion_response.json")

    first = adapter().parse_callback(signed(body))
    again = adapter().parse_callback(signed(body))

    assert first[0].provider_event_id == again[0].provider_event_id


def test_user_status_produces_no_event():
    assert adapter().parse_callback(signed(raw_fixture("callback_user_status.json"))) == []
