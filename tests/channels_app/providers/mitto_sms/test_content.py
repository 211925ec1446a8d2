"""SMS content: text presence and the concatenation cap, and the Chat API's sender rule."""

from __future__ import annotations

from typing import Any

import pytest

from channels_app.content import validate_content
from tests.channels_app.content.helpers import errors_of


def sms(**fields: Any) -> dict[str, Any]:
    return {"text": "Hi, this is test msg.", **fields}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"text": "x"}, id="text-1-char-no-sender"),
        pytest.param(sms(text="a" * 153 * 255), id="text-255-gsm-segments"),
        pytest.param(sms(text="ж" * 67 * 255), id="text-255-ucs2-segments"),
        pytest.param(sms(text="€" * (153 * 255 // 2)), id="text-255-segments-of-extension-chars"),
        pytest.param(sms(sender="1"), id="sender-numeric-1"),
        pytest.param(sms(sender="1" * 16), id="sender-numeric-16"),
        pytest.param(sms(sender="+" + "1" * 16), id="sender-plus-numeric-16"),
        pytest.param(sms(sender="A"), id="sender-alpha-1"),
        pytest.param(sms(sender="Mitto Ltd.!"), id="sender-alpha-11-with-space-and-punctuation"),
        pytest.param(sms(sender="Shop-24_7"), id="sender-alpha-dash-underscore"),
    ],
)
def test_valid_sms(content: dict[str, Any]) -> None:
    assert validate_content("sms", content) == content


@pytest.mark.parametrize(
    ("content", "path"),
    [
        pytest.param({}, "text", id="text-missing"),
        pytest.param(sms(text=""), "text", id="text-empty"),
        pytest.param(sms(text=" \n "), "text", id="text-only-whitespace"),
        pytest.param(sms(text="a" * (153 * 255 + 1)), "text", id="text-256-gsm-segments"),
        pytest.param(sms(text="ж" * (67 * 255 + 1)), "text", id="text-256-ucs2-segments"),
        pytest.param(sms(text="€" * (153 * 255 // 2 + 1)), "text", id="text-256-segments-of-extension-chars"),
        pytest.param(sms(sender=""), "sender", id="sender-empty"),
        pytest.param(sms(sender="1" * 17), "sender", id="sender-numeric-17"),
        pytest.param(sms(sender="+" + "1" * 17), "sender", id="sender-plus-numeric-17"),
        pytest.param(sms(sender="Mitto Ltd.!!"), "sender", id="sender-alpha-12"),
        pytest.param(sms(sender="Café"), "sender", id="sender-non-ascii-letter"),
        pytest.param(sms(sender="{SMS sender}"), "sender", id="sender-braces"),
        pytest.param(sms(sender="+Mitto"), "sender", id="sender-plus-with-letters"),
    ],
)
def test_invalid_sms(content: dict[str, Any], path: str) -> None:
    assert set(errors_of("sms", content)) == {path}


def test_segment_cap_message_names_the_limit_and_the_need() -> None:
    assert errors_of("sms", sms(text="a" * (153 * 255 + 1))) == {
        "text": ["Ensure this text fits in 255 SMS segments; as GSM-7 it needs 256."]
    }
