"""The ``telegram`` object: ``silent`` plus exactly one of text, photo, document, video, voice, location.

Limits are the Bot API's: text 1-4096 characters (counted on the text as sent, markup included,
because what remains "after entities parsing" is only known to Telegram), captions 0-1024. The
Chat API (docs/chat-api.md) allows only .gif, .pdf and .zip documents (Telegram's sendDocument-by-URL restriction), so a
document URL's path must end in one of those; the query string is ignored.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from channels_app.content.common import (
    EnumField,
    HttpUrlField,
    MessageTextField,
    StrictSerializer,
    exactly_one,
)

PARSE_MODES = ("Default", "Markdown", "Html", "MarkdownV2")
DOCUMENT_EXTENSIONS = (".gif", ".pdf", ".zip")
CONTENT_FIELDS = ("text", "photo", "document", "video", "voice", "location")


class TelegramTextSerializer(StrictSerializer):
    message = MessageTextField(max_length=4096)
    parseMode = EnumField(PARSE_MODES, required=False)
    noPreview = serializers.BooleanField(required=False)


class TelegramMediaSerializer(StrictSerializer):
    url = HttpUrlField()
    caption = MessageTextField(required=False, allow_blank=True, max_length=1024)
    parseMode = EnumField(PARSE_MODES, required=False)


class TelegramDocumentSerializer(TelegramMediaSerializer):
    def validate_url(self, value: str) -> str:
        extension = posixpath.splitext(urlsplit(value).path)[1].lower()
        if extension not in DOCUMENT_EXTENSIONS:
            raise ValidationError("Only .gif, .pdf and .zip documents can be sent.", code="invalid_extension")
        return value


class TelegramLocationSerializer(StrictSerializer):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)


class TelegramContentSerializer(StrictSerializer):
    silent = serializers.BooleanField(required=False)
    text = TelegramTextSerializer(required=False)
    photo = TelegramMediaSerializer(required=False)
    document = TelegramDocumentSerializer(required=False)
    video = TelegramMediaSerializer(required=False)
    voice = TelegramMediaSerializer(required=False)
    location = TelegramLocationSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        exactly_one(attrs, CONTENT_FIELDS)
        return attrs
