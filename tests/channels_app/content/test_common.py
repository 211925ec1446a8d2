"""Rules every channel shares: unknown fields, nulls, enum spelling, array error shape."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from channels_app.content import validate_content
from gateway.problems import flatten_errors
from tests.channels_app.content.helpers import errors_of


@pytest.mark.parametrize(
    ("channel", "content", "path"),
    [
        pytest.param("sms", {"text": "hi", "sendr": "Mitto"}, "sendr", id="sms-top-level"),
        pytest.param(
            "telegram",
            {"photo": {"url": "https://example.com/a.jpg", "captoin": "Look"}},
            "photo.captoin",
            id="telegram-nested",
        ),
        pytest.param(
            "gbm",
            {"carouselCard": {"cardContents": [{"title": "a"}, {"title": "b"}, {"title": "c", "subtitle": "x"}]}},
            "carouselCard.cardContents[2].subtitle",
            id="gbm-inside-array",
        ),
        pytest.param(
            "whatsapp",
            {"type": "regular", "regular": {"type": "text", "text": "hi", "preview_url": True}},
            "regular.preview_url",
            id="whatsapp-provider-spelling",
        ),
    ],
)
def test_unknown_field_is_rejected_at_its_path(channel: str, content: dict, path: str) -> None:
    assert errors_of(channel, content) == {path: ["Unknown field."]}


def test_unknown_field_is_reported_with_other_errors() -> None:
    errors = errors_of("telegram", {"text": {"mesage": "hi"}})

    assert errors == {"text.message": ["This field is required."], "text.mesage": ["Unknown field."]}


def test_null_on_optional_field_counts_as_absent() -> None:
    assert validate_content("sms", {"text": "hi", "sender": None}) == {"text": "hi"}


def test_null_on_required_field_is_an_error() -> None:
    assert set(errors_of("sms", {"text": None})) == {"text"}


def test_null_on_unknown_field_is_still_unknown() -> None:
    assert errors_of("sms", {"text": "hi", "sendr": None}) == {"sendr": ["Unknown field."]}


@pytest.mark.parametrize(
    ("channel", "content", "expected"),
    [
        (
            "telegram",
            {"text": {"message": "hi", "parseMode": "HTML"}},
            {"text": {"message": "hi", "parseMode": "Html"}},
        ),
        ("viber", {"type": "Promotional", "text": "hi"}, {"type": "promotional", "text": "hi"}),
        (
            "gbm",
            {"text": {"message": "hi"}, "representative": {"representativeType": "bot"}},
            {"text": {"message": "hi"}, "representative": {"representativeType": "BOT"}},
        ),
    ],
)
def test_enum_values_match_any_case_and_come_back_canonical(channel: str, content: dict, expected: dict) -> None:
    assert validate_content(channel, content) == expected


def test_message_text_is_kept_byte_for_byte() -> None:
    assert validate_content("sms", {"text": "  two  spaces \n"}) == {"text": "  two  spaces \n"}


@pytest.mark.parametrize("content", ["hello", ["text"], 42])
def test_channel_object_must_be_an_object(content: object) -> None:
    assert set(errors_of("sms", content)) == {"non_field_errors"}


def test_unknown_channel_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="fax"):
        validate_content("fax", {"text": "hi"})


def test_array_errors_stay_a_list_by_index_whatever_drf_is_configured_to(settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "LIST_SERIALIZER_ERRORS_AS_DICT": True}
    reply = {"reply": {"text": "ok", "postbackData": "ok"}}

    errors = errors_of("gbm", {"text": {"message": "hi"}, "suggestions": [reply, {"reply": {"text": "ok"}}]})

    assert errors == {"suggestions[1].reply.postbackData": ["This field is required."]}


def test_problem_handler_turns_the_detail_into_json_paths() -> None:
    card = {"title": "card", "media": {"height": "TALL", "contentInfo": {"fileUrl": "https://example.com/a.jpg"}}}
    content = {"carouselCard": {"cardWidth": "SMALL", "cardContents": [{"title": "card"}] * 3 + [card]}}

    with pytest.raises(ValidationError) as raised:
        validate_content("gbm", content)

    assert list(flatten_errors({"gbm": raised.value.detail})) == [
        {
            "path": "gbm.carouselCard.cardContents[3].media.height",
            "message": "TALL media does not fit a SMALL carousel card.",
        }
    ]
