"""Mitto SMS /smsbulk: the exact request, ids mapped back by ``to``, per-destination problems and
whole-call errors that apply to every message of the call."""

from __future__ import annotations

import json
from uuid import UUID, uuid4

import pytest
import requests
import responses

from channels_app.providers.base import (
    OutboundMessage,
    ProviderAccount,
    ProviderAmbiguous,
    ProviderConfigError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    SendResult,
)
from channels_app.providers.mitto_sms.adapter import MittoSmsAdapter

BASE_URL = "https://rest.mitto.test"
BULK_URL = f"{BASE_URL}/smsbulk"
API_KEY = "mitto-api-key-3f9a1c7e5b"
CALLBACK = "https://gateway.example/callbacks/sms/dlr-bulk?token=bulk-token"
NUMBERS = ["+491765410994", "+491765410995", "+491765410996"]


def make_adapter(*, test_mode: bool = False) -> MittoSmsAdapter:
    account = ProviderAccount(
        id=UUID("4ae53d46-66d8-4aff-9f13-621f53b90001"), channel="sms", base_url=BASE_URL + "/",
        credentials={"api_key": API_KEY}, sender="Acme", test_mode=test_mode,
    )
    return MittoSmsAdapter(account, session=requests.Session())


def make_messages(numbers=NUMBERS, content=None) -> list[OutboundMessage]:
    return [
        OutboundMessage(id=uuid4(), destination=n, content=content or {"text": "Hello bulk", "sender": "Brand"})
        for n in numbers
    ]


def accepted(to: str, provider_id: str) -> dict:
    return {"id": provider_id, "timestamp": "2019-08-21T14:55:29.6488926Z", "to": to, "textLength": 10}


def sent_json(call) -> dict:
    return json.loads(call.request.body)


@responses.activate
def test_one_call_carries_every_destination_with_the_shared_text_sender_and_callback():
    responses.post(BULK_URL, json={"responseCode": 0, "responseText": "SMS sent", "messages": [
        accepted("491765410994", "b47e7d4a-39d1-4e6c-a495-001501b3e626"),
        accepted("491765410995", "c58f8e5b-40e2-4f7d-b5a6-112612c4f737"),
        accepted("491765410996", "d6908f6c-51f3-4081-86b7-223723d50848"),
    ]})

    results = make_adapter().send_many(make_messages(), callback_url=CALLBACK)

    (call,) = responses.calls
    assert sent_json(call) == {
        "from": "Brand", "to": "491765410994,491765410995,491765410996", "text": "Hello bulk",
        "type": "auto", "callback": CALLBACK,
    }
    assert call.request.headers["X-Mitto-API-Key"] == API_KEY
    assert call.request.headers["Content-Type"] == "application/json"
    assert [r.provider_message_id for r in results] == [
        "b47e7d4a-39d1-4e6c-a495-001501b3e626",
        "c58f8e5b-40e2-4f7d-b5a6-112612c4f737",
        "d6908f6c-51f3-4081-86b7-223723d50848",
    ]


@responses.activate
def test_ids_are_mapped_by_to_whatever_the_order_of_the_answer():
    responses.post(BULK_URL, json={"responseCode": 0, "messages": [
        accepted("491765410996", "id-96"), accepted("491765410994", "id-94"), accepted("491765410995", "id-95"),
    ]})

    results = make_adapter().send_many(make_messages(), callback_url=CALLBACK)

    assert [r.provider_message_id for r in results] == ["id-94", "id-95", "id-96"]


@responses.activate
def test_each_message_records_the_call_narrowed_to_its_own_destination_with_the_key_masked():
    responses.post(BULK_URL, json={"responseCode": 0, "messages": [
        accepted("491765410994", "id-94"), accepted("491765410995", "id-95"), accepted("491765410996", "id-96"),
    ]})

    results = make_adapter().send_many(make_messages(), callback_url=CALLBACK)

    exchange = results[1].exchange
    assert exchange.url == BULK_URL
    assert exchange.request_headers["X-Mitto-API-Key"] == "***"
    assert exchange.request_body["to"] == "491765410995"
    assert exchange.request_body["toCount"] == 3
    assert exchange.response_body["messages"] == [accepted("491765410995", "id-95")]


@responses.activate
def test_the_account_test_mode_flag_is_sent_as_on_sms():
    responses.post(BULK_URL, json={"responseCode": 0, "messages": [accepted("491765410994", "a"),
                                                                     accepted("491765410995", "b")]})

    make_adapter(test_mode=True).send_many(make_messages(NUMBERS[:2]), callback_url=CALLBACK)

    assert sent_json(responses.calls[0])["test"] is True


@responses.activate
def test_a_destination_missing_from_the_answer_is_ambiguous_for_that_message_only():
    responses.post(BULK_URL, json={"responseCode": 0, "messages": [
        accepted("491765410994", "id-94"), accepted("491765410996", "id-96"),
    ]})

    first, missing, last = make_adapter().send_many(make_messages(), callback_url=CALLBACK)

    assert isinstance(first, SendResult) and isinstance(last, SendResult)
    assert isinstance(missing, ProviderAmbiguous)
    assert missing.retryable
    assert missing.code == "missing_in_answer"


@responses.activate
def test_a_refused_destination_fails_with_its_code_and_an_internal_error_is_retryable():
    responses.post(BULK_URL, json={"responseCode": 0, "messages": [
        accepted("491765410994", "id-94"),
        {"to": "491765410995", "responseCode": 8, "responseText": "Invalid receiver"},
        {"to": "491765410996", "responseCode": 1, "responseText": "Internal error"},
    ]})

    ok, refused, internal = make_adapter().send_many(make_messages(), callback_url=CALLBACK)

    assert ok.provider_message_id == "id-94"
    assert isinstance(refused, ProviderRejected)
    assert (refused.code, refused.text) == ("8", "Invalid receiver")
    assert isinstance(internal, ProviderUnavailable)
    assert internal.code == "1"


@responses.activate
def test_a_repeated_destination_goes_into_a_second_call():
    responses.post(BULK_URL, json={"responseCode": 0, "messages": [accepted("491765410994", "first"),
                                                                     accepted("491765410995", "other")]})
    responses.post(BULK_URL, json={"responseCode": 0, "messages": [accepted("491765410994", "second")]})

    results = make_adapter().send_many(
        make_messages(["+491765410994", "+491765410995", "+491765410994"]), callback_url=CALLBACK
    )

    assert [sent_json(c)["to"] for c in responses.calls] == ["491765410994,491765410995", "491765410994"]
    assert [r.provider_message_id for r in results] == ["first", "other", "second"]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_class"),
    [
        (429, {"responseText": "Too many requests"}, {"Retry-After": "7"}, ProviderThrottled),
        (401, {"responseText": "Invalid API key"}, {}, ProviderConfigError),
        (503, {"responseText": "Unavailable"}, {}, ProviderUnavailable),
        (400, {"responseCode": 8, "responseText": "Invalid receiver"}, {}, ProviderRejected),
    ],
)
@responses.activate
def test_a_whole_call_failure_is_every_message_s_outcome(status, body, headers, error_class):
    responses.post(BULK_URL, status=status, json=body, headers=headers)

    results = make_adapter().send_many(make_messages(), callback_url=CALLBACK)

    assert len(results) == 3
    assert all(type(r) is error_class for r in results)
    if status == 429:
        assert all(r.retry_after == 7 for r in results)


@responses.activate
def test_a_read_timeout_is_ambiguous_for_every_message():
    responses.post(BULK_URL, body=requests.ReadTimeout("read timed out"))

    results = make_adapter().send_many(make_messages(), callback_url=CALLBACK)

    assert len(results) == 3
    assert all(isinstance(r, ProviderAmbiguous) for r in results)


@responses.activate
def test_an_answer_that_is_not_json_is_unavailable_for_every_message():
    responses.post(BULK_URL, body="<html>gateway</html>", status=200)

    results = make_adapter().send_many(make_messages(), callback_url=CALLBACK)

    assert all(isinstance(r, ProviderUnavailable) and r.code == "bad_response" for r in results)
