"""The adapter base: one HTTP status mapping for every provider, and the fixed order of a send."""

from __future__ import annotations

import json
import traceback
from typing import Any
from uuid import uuid4

import pytest
import requests
import responses

from channels_app.providers.answers import AnswerError, classify_http_answer, http_error_class
from channels_app.providers.base import (
    CallbackEvent,
    CallbackRequest,
    ChannelAdapter,
    HttpExchange,
    OutboundMessage,
    ProviderAccount,
    ProviderAmbiguous,
    ProviderConfigError,
    ProviderRejected,
    ProviderRequest,
    ProviderThrottled,
    ProviderUnavailable,
    SendResult,
)

# ---- classify_http_answer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "error_class", "code", "retry_after"),
    [
        (200, {}, None, None, None),
        (201, {}, None, None, None),
        (302, {}, None, None, None),
        (400, {}, ProviderRejected, "http_400", None),
        (401, {}, ProviderConfigError, "http_401", None),
        (403, {}, ProviderConfigError, "http_403", None),
        (404, {}, ProviderRejected, "http_404", None),
        (409, {}, ProviderRejected, "http_409", None),
        (429, {}, ProviderThrottled, "http_429", None),
        (429, {"Retry-After": "30"}, ProviderThrottled, "http_429", 30.0),
        (429, {"Retry-After": " 1.5 "}, ProviderThrottled, "http_429", 1.5),
        (429, {"Retry-After": "-5"}, ProviderThrottled, "http_429", 0.0),
        # An HTTP date is not a number of seconds: the dispatcher's backoff decides instead.
        (429, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, ProviderThrottled, "http_429", None),
        (500, {}, ProviderUnavailable, "http_500", None),
        (502, {}, ProviderUnavailable, "http_502", None),
        (503, {"Retry-After": "30"}, ProviderUnavailable, "http_503", None),
    ],
)
def test_http_statuses_map_to_send_errors(status, headers, error_class, code, retry_after):
    exchange = HttpExchange(method="POST", url="https://provider.test/send", status_code=status)

    error = classify_http_answer(status, headers, exchange=exchange, provider_name="Provider")

    if error_class is None:
        assert error is None
        return
    assert type(error) is error_class
    assert error.code == code
    assert error.text == f"HTTP {status} from Provider"
    assert error.retry_after == retry_after
    assert error.exchange is exchange


@pytest.mark.parametrize(
    ("status", "reported", "error_class", "code", "text", "retry_after"),
    [
        # the provider's code and text replace http_<status> and the default text
        (400, AnswerError("131026", "undeliverable"), ProviderRejected, "131026", "undeliverable", None),
        # a class the provider's code decides wins over the status...
        (400, AnswerError("130429", "rate", ProviderThrottled), ProviderThrottled, "130429", "rate", None),
        (500, AnswerError("100", "bad parameter", ProviderRejected), ProviderRejected, "100", "bad parameter", None),
        (200, AnswerError("12", "slow down", ProviderThrottled), ProviderThrottled, "12", "slow down", None),
        # ...except that a 429 always throttles
        (429, AnswerError("100", "bad", ProviderRejected), ProviderThrottled, "100", "bad", None),
        # a success status whose body reports an unclassified failure is a refusal
        (200, AnswerError(), ProviderRejected, "http_200", "HTTP 200 from Provider", None),
        (200, AnswerError("bad_response", "no verdict", ProviderUnavailable), ProviderUnavailable, "bad_response",
         "no verdict", None),
    ],
)
def test_the_providers_report_refines_the_status(status, reported, error_class, code, text, retry_after):
    error = classify_http_answer(status, {}, reported=reported, provider_name="Provider")

    assert type(error) is error_class
    assert (error.code, error.text, error.retry_after) == (code, text, retry_after)


def test_the_providers_own_retry_hint_beats_the_header():
    error = classify_http_answer(429, {"Retry-After": "30"}, reported=AnswerError("429", "slow", retry_after=3))

    assert type(error) is ProviderThrottled
    assert error.retry_after == 3.0


def test_retry_after_header_counts_for_a_throttling_code_in_the_body():
    error = classify_http_answer(
        400, {"Retry-After": "12"}, reported=AnswerError("130429", "rate", ProviderThrottled)
    )

    assert type(error) is ProviderThrottled
    assert error.retry_after == 12.0


def test_default_texts_by_error_class_come_before_the_http_text():
    texts = {ProviderConfigError: "API key refused"}

    config = classify_http_answer(401, {}, default_texts=texts, provider_name="Provider")
    rejected = classify_http_answer(400, {}, default_texts=texts, provider_name="Provider")

    assert config.text == "API key refused"
    assert rejected.text == "HTTP 400 from Provider"


@pytest.mark.parametrize(
    ("status", "config_statuses", "expected"),
    [
        (401, frozenset({401, 404}), ProviderConfigError),
        (404, frozenset({401, 404}), ProviderConfigError),
        (403, frozenset({401, 404}), ProviderRejected),
        (403, frozenset({401, 403}), ProviderConfigError),
        (404, frozenset({401, 403}), ProviderRejected),
    ],
)
def test_which_statuses_mean_bad_credentials_is_per_provider(status, config_statuses, expected):
    assert http_error_class(status, config_statuses) is expected


# ---- the send template -------------------------------------------------------------------------

URL = "https://provider.test/send"
SECRET = "s3cr3t-key"


class EchoAdapter(ChannelAdapter):
    """The smallest adapter: a JSON POST whose answer names the message, with a body error code."""

    channel = "test"
    provider_name = "Echo"

    def build_request(self, message: OutboundMessage) -> ProviderRequest:
        if not message.content.get("text"):
            raise ProviderRejected("invalid_content", "text is required")
        return ProviderRequest(
            "POST", URL, json={"to": message.destination, "text": message.content["text"], "key": SECRET},
            headers={"Authorization": f"Key {SECRET}"}, secrets=(SECRET,),
        )

    def answer_error(self, response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
        if payload and payload.get("error") == "slow_down":
            return AnswerError("slow_down", "too fast", ProviderThrottled)
        return None

    def parse_answer(
        self, message: OutboundMessage, response: requests.Response, exchange: HttpExchange
    ) -> SendResult:
        provider_id = response.json().get("id")
        if not provider_id:
            raise ProviderUnavailable("bad_response", "no id", exchange=exchange)
        return SendResult(provider_message_id=str(provider_id), exchange=exchange)

    def verify_callback(self, request: CallbackRequest) -> None:
        return None

    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        return []


def echo() -> EchoAdapter:
    return EchoAdapter(ProviderAccount(id=uuid4(), channel="test", base_url="https://provider.test", credentials={}))


def hello() -> OutboundMessage:
    return OutboundMessage(id=uuid4(), destination="+41790000000", content={"text": "Hello"})


@responses.activate
def test_send_posts_the_built_request_and_parses_the_answer():
    responses.post(URL, json={"id": "p-1"})

    result = echo().send(hello())

    request = responses.calls[0].request
    assert json.loads(request.body) == {"to": "+41790000000", "text": "Hello", "key": SECRET}
    assert request.headers["Authorization"] == f"Key {SECRET}"
    assert result.provider_message_id == "p-1"
    assert result.exchange.status_code == 200
    # the secret is masked everywhere in the record, the header as a whole
    assert result.exchange.request_body["key"] == "***"
    assert result.exchange.request_headers["Authorization"] == "***"
    assert SECRET not in json.dumps(result.exchange.__dict__, default=str)


@responses.activate
def test_a_refused_build_makes_no_call():
    with pytest.raises(ProviderRejected):
        echo().send(OutboundMessage(id=uuid4(), destination="+41790000000", content={}))

    assert len(responses.calls) == 0


@responses.activate
def test_an_error_status_is_classified_before_the_answer_is_parsed():
    responses.post(URL, status=503, json={"id": "p-1"})

    with pytest.raises(ProviderUnavailable) as error:
        echo().send(hello())

    assert error.value.code == "http_503"
    assert error.value.text == "HTTP 503 from Echo"
    assert error.value.exchange.status_code == 503


@responses.activate
def test_the_providers_body_code_classifies_a_200():
    responses.post(URL, json={"error": "slow_down"}, headers={"Retry-After": "4"})

    with pytest.raises(ProviderThrottled) as error:
        echo().send(hello())

    assert (error.value.code, error.value.retry_after) == ("slow_down", 4.0)


@responses.activate
def test_a_success_that_names_no_message_is_a_bad_response():
    responses.post(URL, json={})

    with pytest.raises(ProviderUnavailable) as error:
        echo().send(hello())

    assert error.value.code == "bad_response"


@pytest.mark.parametrize(
    ("failure", "error_class", "code"),
    [
        (requests.ConnectTimeout(f"connect to {URL}?key={SECRET}"), ProviderUnavailable, "timeout"),
        (requests.ReadTimeout(f"read from {URL}?key={SECRET}"), ProviderAmbiguous, "timeout"),
        (requests.ConnectionError(f"refused {URL}?key={SECRET}"), ProviderUnavailable, "connection"),
    ],
)
@responses.activate
def test_network_failures_are_classified_and_carry_no_secret(failure, error_class, code):
    responses.post(URL, body=failure)

    with pytest.raises(error_class) as error:
        echo().send(hello())

    assert type(error.value) is error_class
    assert error.value.code == code
    assert SECRET not in error.value.exchange.error
    # the requests error quotes the URL: it rides along neither as cause nor as context
    assert error.value.__cause__ is None and error.value.__context__ is None
    assert SECRET not in "".join(traceback.format_exception(error.value))
