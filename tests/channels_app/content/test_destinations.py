"""Destination normalisation per channel: one canonical form, clear refusals."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from channels_app.content import normalise_destination
from channels_app.content.destinations import PHONE_ERROR


@pytest.mark.parametrize(
    ("channel", "value", "expected"),
    [
        pytest.param("sms", "380981111111", "+380981111111", id="sms-without-plus"),
        pytest.param("sms", "+380981111111", "+380981111111", id="sms-e164"),
        pytest.param("sms", "+41 79 123 45 67", "+41791234567", id="sms-spaces"),
        pytest.param("sms", " 0041791234567 ", "+41791234567", id="sms-00-prefix"),
        pytest.param("whatsapp", "+1 (650) 253-0000", "+16502530000", id="whatsapp-punctuation"),
        pytest.param("whatsapp", 41791234567, "+41791234567", id="whatsapp-json-number"),
        pytest.param("viber", "380981111111", "+380981111111", id="viber-phone"),
        pytest.param("viber", "01234567890", "01234567890", id="viber-user-id-digits"),
        pytest.param("viber", "01234567890A=", "01234567890A=", id="viber-user-id"),
        pytest.param("viber", "aB+/" * 16, "aB+/" * 16, id="viber-user-id-64"),
        pytest.param("telegram", "1861312834", "1861312834", id="telegram-user"),
        pytest.param("telegram", -1001234567890, "-1001234567890", id="telegram-group-json-number"),
        pytest.param("telegram", "@abcde", "@abcde", id="telegram-username-5"),
        pytest.param("telegram", "@" + "A_1" * 10 + "xy", "@" + "A_1" * 10 + "xy", id="telegram-username-32"),
        pytest.param("gbm", "bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0", "bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0", id="gbm"),
        pytest.param("gbm", "a_" * 64, "a_" * 64, id="gbm-128"),
    ],
)
def test_destination_is_normalised(channel: str, value: object, expected: str) -> None:
    assert normalise_destination(channel, value) == expected


@pytest.mark.parametrize(
    ("channel", "value"),
    [
        pytest.param("sms", "+0123456789", id="sms-no-country"),
        pytest.param("sms", "12", id="sms-too-short"),
        pytest.param("sms", "+3809811111119999", id="sms-too-long"),
        pytest.param("sms", "+41791234567abc", id="sms-trailing-letters"),
        pytest.param("sms", "+1 800 FLOWERS", id="sms-vanity-letters"),
        pytest.param("sms", "", id="sms-empty"),
        pytest.param("whatsapp", "@channel_name", id="whatsapp-username"),
        pytest.param("viber", "user id", id="viber-space"),
        pytest.param("viber", "a" * 65, id="viber-65"),
        pytest.param("viber", "", id="viber-empty"),
        pytest.param("telegram", "@abcd", id="telegram-username-4"),
        pytest.param("telegram", "@" + "a" * 33, id="telegram-username-33"),
        pytest.param("telegram", "@user-name", id="telegram-username-dash"),
        pytest.param("telegram", "channel_name", id="telegram-username-without-at"),
        pytest.param("telegram", "0", id="telegram-zero"),
        pytest.param("telegram", "12a", id="telegram-not-integer"),
        pytest.param("telegram", str(2**63), id="telegram-over-64-bits"),
        pytest.param("gbm", "conversation id", id="gbm-space"),
        pytest.param("gbm", "a" * 129, id="gbm-129"),
        pytest.param("gbm", "", id="gbm-empty"),
        pytest.param("telegram", True, id="bool-is-not-a-number"),
        pytest.param("sms", None, id="null"),
        pytest.param("gbm", ["abc"], id="list"),
    ],
)
def test_invalid_destination_gives_one_message(channel: str, value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        normalise_destination(channel, value)

    assert isinstance(raised.value.detail, list)
    assert len(raised.value.detail) == 1


def test_invalid_phone_number_message_shows_the_format() -> None:
    with pytest.raises(ValidationError) as raised:
        normalise_destination("whatsapp", "+0123456789")

    assert raised.value.detail == [PHONE_ERROR]


def test_unknown_channel_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="fax"):
        normalise_destination("fax", "+41791234567")
