"""The ``gbm`` object (Google Business Messages), in the Chat API's flattened shape (docs/chat-api.md).

The Chat API flattens Google's message (``image`` holds the content info directly, ``standaloneCard``
holds the card content directly); the adapter wraps them into Google's ``richCard`` structure.

Rules enforced: exactly one of text, image, standaloneCard, carouselCard, unless the message is
fallback-only (``forceFallback`` true with a ``fallback``); text and fallback <= 3072 characters;
<= 13 suggestions per message and <= 4 per card; a suggestion is exactly one of ``reply``
(text <= 25, postbackData <= 2048, both required) or ``action`` (text <= 25 required, optional
postbackData, exactly one of ``openUrlAction`` / ``dialAction``); a card needs a title or media,
title <= 200 and description <= 2000 (Google's card limits); a carousel holds 2-10 cards and a
SMALL carousel cannot hold TALL media; ``forceFallback`` requires ``fallback``. A dial action's
phone number is normalised to E.164.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from channels_app.content.common import (
    NON_FIELD_ERRORS,
    EnumField,
    HttpUrlField,
    MessageTextField,
    StrictSerializer,
    exactly_one,
    present,
)
from channels_app.content.destinations import PHONE_ERROR, phone_to_e164

MAX_TEXT = 3072
MAX_SUGGESTION_TEXT = 25
MAX_POSTBACK_DATA = 2048
MAX_MESSAGE_SUGGESTIONS = 13
MAX_CARD_SUGGESTIONS = 4
MIN_CAROUSEL_CARDS = 2
MAX_CAROUSEL_CARDS = 10
CONTENT_FIELDS = ("text", "image", "standaloneCard", "carouselCard")


class GbmTextSerializer(StrictSerializer):
    message = MessageTextField(max_length=MAX_TEXT)
    containsRichText = serializers.BooleanField(required=False)


class GbmContentInfoSerializer(StrictSerializer):
    fileUrl = HttpUrlField()
    thumbnailUrl = HttpUrlField(required=False)
    forceRefresh = serializers.BooleanField(required=False)
    altText = serializers.CharField(required=False, allow_blank=True)


class GbmMediaSerializer(StrictSerializer):
    height = EnumField(("SHORT", "MEDIUM", "TALL"), required=False)
    contentInfo = GbmContentInfoSerializer()


class GbmReplySerializer(StrictSerializer):
    text = MessageTextField(max_length=MAX_SUGGESTION_TEXT)
    postbackData = serializers.CharField(max_length=MAX_POSTBACK_DATA, trim_whitespace=False)


class GbmOpenUrlActionSerializer(StrictSerializer):
    url = HttpUrlField()


class GbmDialActionSerializer(StrictSerializer):
    phoneNumber = serializers.CharField()

    def validate_phoneNumber(self, value: str) -> str:
        normalised = phone_to_e164(value)
        if normalised is None:
            raise ValidationError(PHONE_ERROR, code="invalid")
        return normalised


class GbmActionSerializer(StrictSerializer):
    text = MessageTextField(max_length=MAX_SUGGESTION_TEXT)
    postbackData = serializers.CharField(required=False, max_length=MAX_POSTBACK_DATA, trim_whitespace=False)
    openUrlAction = GbmOpenUrlActionSerializer(required=False)
    dialAction = GbmDialActionSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        exactly_one(attrs, ("openUrlAction", "dialAction"))
        return attrs


class GbmSuggestionSerializer(StrictSerializer):
    reply = GbmReplySerializer(required=False)
    action = GbmActionSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        exactly_one(attrs, ("reply", "action"))
        return attrs


class GbmCardContentSerializer(StrictSerializer):
    title = MessageTextField(required=False, max_length=200)
    description = MessageTextField(required=False, allow_blank=True, max_length=2000)
    media = GbmMediaSerializer(required=False)
    # many=True hands min_length/max_length to the ListSerializer; the stubs' Serializer.__init__ lacks them.
    suggestions = GbmSuggestionSerializer(many=True, required=False, max_length=MAX_CARD_SUGGESTIONS)  # type: ignore[call-arg]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not present(attrs, ("title", "media")):
            raise ValidationError({NON_FIELD_ERRORS: ["A card needs a title or media."]}, code="required")
        return attrs


class GbmCarouselCardSerializer(StrictSerializer):
    cardWidth = EnumField(("SMALL", "MEDIUM"), required=False)
    # many=True hands min_length/max_length to the ListSerializer; the stubs' Serializer.__init__ lacks them.
    cardContents = GbmCardContentSerializer(many=True, min_length=MIN_CAROUSEL_CARDS, max_length=MAX_CAROUSEL_CARDS)  # type: ignore[call-arg]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("cardWidth") != "SMALL":
            return attrs
        card_errors: list[dict[str, Any]] = [
            {"media": {"height": ["TALL media does not fit a SMALL carousel card."]}}
            if card.get("media", {}).get("height") == "TALL"
            else {}
            for card in attrs["cardContents"]
        ]
        if any(card_errors):
            raise ValidationError({"cardContents": card_errors}, code="invalid")
        return attrs


class GbmRepresentativeSerializer(StrictSerializer):
    avatarImage = HttpUrlField(required=False)
    displayName = serializers.CharField(required=False)
    representativeType = EnumField(("BOT", "HUMAN"))


class GbmContentSerializer(StrictSerializer):
    text = GbmTextSerializer(required=False)
    image = GbmContentInfoSerializer(required=False)
    standaloneCard = GbmCardContentSerializer(required=False)
    carouselCard = GbmCarouselCardSerializer(required=False)
    # many=True hands min_length/max_length to the ListSerializer; the stubs' Serializer.__init__ lacks them.
    suggestions = GbmSuggestionSerializer(many=True, required=False, max_length=MAX_MESSAGE_SUGGESTIONS)  # type: ignore[call-arg]
    representative = GbmRepresentativeSerializer(required=False)
    fallback = MessageTextField(required=False, max_length=MAX_TEXT)
    forceFallback = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        force_fallback = attrs.get("forceFallback", False)
        if force_fallback and "fallback" not in attrs:
            raise ValidationError({"fallback": ["Required when forceFallback is true."]}, code="required")
        if not force_fallback or present(attrs, CONTENT_FIELDS):
            exactly_one(attrs, CONTENT_FIELDS)
        return attrs
