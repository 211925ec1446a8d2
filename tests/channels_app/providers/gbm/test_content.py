"""Google Business Messages content: one-of bodies, cards, carousels, suggestions, fallback."""

from __future__ import annotations

from typing import Any

import pytest

from channels_app.content import validate_content
from tests.channels_app.content.helpers import errors_of

TEXT = {"message": "Hi, this is test message."}
REPLY = {"reply": {"text": "Yes", "postbackData": "yes"}}
IMAGE = {"fileUrl": "https://picsum.photos/1920/1080?random=1"}


def media(height: str = "SHORT") -> dict[str, Any]:
    return {"height": height, "contentInfo": dict(IMAGE)}


def card(title: str = "card", **fields: Any) -> dict[str, Any]:
    return {"title": title, **fields}


def carousel(cards: list[dict[str, Any]], width: str = "MEDIUM") -> dict[str, Any]:
    return {"carouselCard": {"cardWidth": width, "cardContents": cards}}


def action(**fields: Any) -> dict[str, Any]:
    return {"action": {"text": "Open", "postbackData": "open", **fields}}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"text": {"message": "x" * 3072, "containsRichText": True}}, id="text-3072"),
        pytest.param({"text": TEXT, "fallback": "x" * 3072}, id="fallback-3072"),
        pytest.param({"text": TEXT, "suggestions": [REPLY] * 13}, id="suggestions-13"),
        pytest.param({"image": {**IMAGE, "thumbnailUrl": "https://picsum.photos/200", "altText": ""}}, id="image"),
        pytest.param({"standaloneCard": {"media": media("TALL")}}, id="card-media-only"),
        pytest.param({"standaloneCard": card(title="x" * 200, description="d" * 2000)}, id="card-title-200"),
        pytest.param({"standaloneCard": card(suggestions=[REPLY] * 4)}, id="card-suggestions-4"),
        pytest.param(carousel([card(), card()]), id="carousel-2"),
        pytest.param(carousel([card()] * 10), id="carousel-10"),
        pytest.param(carousel([card(media=media("MEDIUM"))] * 2, width="SMALL"), id="small-medium-media"),
        pytest.param(carousel([card(media=media("TALL"))] * 2, width="MEDIUM"), id="medium-tall-media"),
        pytest.param({"carouselCard": {"cardContents": [card(media=media("TALL"))] * 2}}, id="no-width-tall"),
        pytest.param({"forceFallback": True, "fallback": "Only this"}, id="fallback-only"),
        pytest.param(
            {"text": TEXT, "suggestions": [{"reply": {"text": "x" * 25, "postbackData": "p" * 2048}}]},
            id="reply-text-25-postback-2048",
        ),
        pytest.param({"text": TEXT, "suggestions": [action(openUrlAction={"url": "https://mitto.ch"})]}, id="url"),
        pytest.param(
            {
                "text": TEXT,
                "suggestions": [{"action": {"text": "Call", "dialAction": {"phoneNumber": "+41791234567"}}}],
            },
            id="dial-without-postback",
        ),
        pytest.param(
            {"text": TEXT, "representative": {"representativeType": "BOT", "displayName": "Bot"}}, id="representative"
        ),
    ],
)
def test_valid_gbm(content: dict[str, Any]) -> None:
    assert validate_content("gbm", content) == content


def test_dial_action_number_is_normalised() -> None:
    content = {"text": TEXT, "suggestions": [action(dialAction={"phoneNumber": "+1-650-253-0000"})]}

    cleaned = validate_content("gbm", content)

    assert cleaned["suggestions"][0]["action"]["dialAction"] == {"phoneNumber": "+16502530000"}


@pytest.mark.parametrize(
    ("content", "path"),
    [
        pytest.param({}, "non_field_errors", id="no-content"),
        pytest.param({"representative": {"representativeType": "BOT"}}, "non_field_errors", id="only-representative"),
        pytest.param({"fallback": "Only this"}, "non_field_errors", id="fallback-without-force"),
        pytest.param({"text": TEXT, "image": IMAGE}, "non_field_errors", id="text-and-image"),
        pytest.param({"forceFallback": True, "image": IMAGE}, "fallback", id="force-without-fallback"),
        pytest.param({"forceFallback": True}, "fallback", id="force-alone"),
        pytest.param({"text": {"message": "x" * 3073}}, "text.message", id="text-3073"),
        pytest.param({"text": {"message": ""}}, "text.message", id="text-empty"),
        pytest.param({"text": TEXT, "fallback": "x" * 3073}, "fallback", id="fallback-3073"),
        pytest.param({"text": TEXT, "suggestions": [REPLY] * 14}, "suggestions", id="suggestions-14"),
        pytest.param({"image": {"fileUrl": "picsum.photos/1"}}, "image.fileUrl", id="image-url"),
        pytest.param({"image": {"altText": "a"}}, "image.fileUrl", id="image-url-missing"),
        pytest.param({"standaloneCard": {"description": "d"}}, "standaloneCard.non_field_errors", id="card-bare"),
        pytest.param({"standaloneCard": card(title="x" * 201)}, "standaloneCard.title", id="card-title-201"),
        pytest.param({"standaloneCard": card(description="d" * 2001)}, "standaloneCard.description", id="desc-2001"),
        pytest.param({"standaloneCard": card(suggestions=[REPLY] * 5)}, "standaloneCard.suggestions", id="card-sugg-5"),
        pytest.param({"standaloneCard": {"media": media("HUGE")}}, "standaloneCard.media.height", id="height"),
        pytest.param(
            {"standaloneCard": {"media": {"height": "SHORT", "contentInfo": {}}}},
            "standaloneCard.media.contentInfo.fileUrl",
            id="content-info-url-missing",
        ),
        pytest.param(
            {"standaloneCard": {"media": {"height": "SHORT"}}},
            "standaloneCard.media.contentInfo",
            id="content-info-missing",
        ),
        pytest.param(carousel([card()]), "carouselCard.cardContents", id="carousel-1"),
        pytest.param(carousel([card()] * 11), "carouselCard.cardContents", id="carousel-11"),
        pytest.param(carousel([card(), card()], width="LARGE"), "carouselCard.cardWidth", id="card-width"),
        pytest.param(
            carousel([card(), {"description": "no title"}]),
            "carouselCard.cardContents[1].non_field_errors",
            id="carousel-card-bare",
        ),
        pytest.param(
            carousel([card(), card(suggestions=[REPLY] * 5)]),
            "carouselCard.cardContents[1].suggestions",
            id="carousel-card-suggestions-5",
        ),
        pytest.param(
            carousel([card(media=media()), card(), card(), card(media=media("TALL"))], width="SMALL"),
            "carouselCard.cardContents[3].media.height",
            id="small-tall",
        ),
        pytest.param(
            {"text": TEXT, "suggestions": [REPLY, {"reply": {"text": "x" * 26, "postbackData": "p"}}]},
            "suggestions[1].reply.text",
            id="reply-text-26",
        ),
        pytest.param(
            {"text": TEXT, "suggestions": [{"reply": {"text": "x", "postbackData": "p" * 2049}}]},
            "suggestions[0].reply.postbackData",
            id="postback-2049",
        ),
        pytest.param(
            {"text": TEXT, "suggestions": [{"reply": {"text": "x"}}]},
            "suggestions[0].reply.postbackData",
            id="reply-postback-missing",
        ),
        pytest.param({"text": TEXT, "suggestions": [{}]}, "suggestions[0].non_field_errors", id="suggestion-empty"),
        pytest.param(
            {"text": TEXT, "suggestions": [{**REPLY, **action(openUrlAction={"url": "https://mitto.ch"})}]},
            "suggestions[0].non_field_errors",
            id="reply-and-action",
        ),
        pytest.param(
            {"text": TEXT, "suggestions": [action()]},
            "suggestions[0].action.non_field_errors",
            id="action-without-kind",
        ),
        pytest.param(
            {"text": TEXT, "suggestions": [action(openUrlAction={"url": "mitto"})]},
            "suggestions[0].action.openUrlAction.url",
            id="open-url-invalid",
        ),
        pytest.param(
            {"text": TEXT, "suggestions": [action(dialAction={"phoneNumber": "12"})]},
            "suggestions[0].action.dialAction.phoneNumber",
            id="dial-invalid",
        ),
        pytest.param(
            {"text": TEXT, "suggestions": [action(text="x" * 26, openUrlAction={"url": "https://mitto.ch"})]},
            "suggestions[0].action.text",
            id="action-text-26",
        ),
        pytest.param(
            {"text": TEXT, "representative": {"representativeType": "ROBOT"}},
            "representative.representativeType",
            id="representative-type",
        ),
        pytest.param(
            {"text": TEXT, "representative": {"representativeType": "BOT", "avatarImage": "avatar.png"}},
            "representative.avatarImage",
            id="avatar-url",
        ),
    ],
)
def test_invalid_gbm(content: dict[str, Any], path: str) -> None:
    assert set(errors_of("gbm", content)) == {path}


def test_small_carousel_reports_every_tall_card() -> None:
    content = carousel([card(media=media("TALL")), card(), card(media=media("TALL"))], width="SMALL")

    assert errors_of("gbm", content) == {
        "carouselCard.cardContents[0].media.height": ["TALL media does not fit a SMALL carousel card."],
        "carouselCard.cardContents[2].media.height": ["TALL media does not fit a SMALL carousel card."],
    }
