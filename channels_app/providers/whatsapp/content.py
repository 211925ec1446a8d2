"""The ``whatsapp`` object: ``{"type": "regular", "regular": {...}}`` or ``{"type": "template", ...}``.

Limits are WhatsApp Cloud API's (text 4096, caption 1024, template names ``[a-z0-9_]``); checking
them here saves a dispatch that Meta would refuse with a permanent error. Fields that the chosen
message type cannot carry (a caption on audio, a filename on an image, text on a media message)
are refused rather than dropped, for the same reason unknown fields are.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from channels_app.content.common import (
    EnumField,
    HttpUrlField,
    IndexedListField,
    MessageTextField,
    StrictSerializer,
)

MEDIA_TYPES = ("image", "document", "video", "audio")
# Anchored with \A and \Z because Django's RegexValidator searches rather than matches.
TEMPLATE_NAME = re.compile(r"\A[a-z0-9_]{1,512}\Z")
# WhatsApp's template language codes: "en", "en_US", "pt_BR", "zh_HK", "fil", ...
LANGUAGE_CODE = re.compile(r"\A[a-z]{2,3}(_[A-Z]{2})?\Z")


class WhatsAppRegularSerializer(StrictSerializer):
    type = EnumField(("text", *MEDIA_TYPES))
    text = MessageTextField(required=False, max_length=4096)
    url = HttpUrlField(required=False)
    caption = MessageTextField(required=False, allow_blank=True, max_length=1024)
    filename = serializers.CharField(required=False, max_length=255)
    previewUrl = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["type"]
        errors: dict[str, list[str]] = {}
        if kind == "text":
            if "text" not in attrs:
                errors["text"] = ["Required for text messages."]
            for name in ("url", "caption", "filename"):
                if name in attrs:
                    errors[name] = ["Not allowed for text messages."]
        else:
            if "url" not in attrs:
                errors["url"] = [f"Required for {kind} messages."]
            if "text" in attrs:
                errors["text"] = ["Not allowed for media messages; use caption."]
            if "previewUrl" in attrs:
                errors["previewUrl"] = ["Only allowed for text messages."]
            if kind == "audio" and "caption" in attrs:
                errors["caption"] = ["Not allowed for audio messages."]
            if kind != "document" and "filename" in attrs:
                errors["filename"] = ["Only allowed for document messages."]
        if errors:
            raise ValidationError(errors)
        return attrs


# Meta's limits: at most 10 buttons per template, a quick-reply payload of up to 256 characters.
MAX_TEMPLATE_BUTTONS = 10
MAX_BUTTON_PAYLOAD = 256
MAX_URL_SUFFIX = 2000


class WhatsAppTemplateButtonSerializer(StrictSerializer):
    """A value for one of the template's buttons: the payload a quick-reply button sends back,
    or the suffix that completes a dynamic URL button's ``{{1}}``."""

    index = serializers.IntegerField(min_value=0, max_value=MAX_TEMPLATE_BUTTONS - 1)
    type = EnumField(("quickReply", "url"))
    payload = serializers.CharField(required=False, max_length=MAX_BUTTON_PAYLOAD)
    text = serializers.CharField(required=False, max_length=MAX_URL_SUFFIX)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        wanted, other = ("payload", "text") if attrs["type"] == "quickReply" else ("text", "payload")
        errors: dict[str, list[str]] = {}
        if wanted not in attrs:
            errors[wanted] = [f"Required for a {attrs['type']} button."]
        if other in attrs:
            errors[other] = [f"Not allowed for a {attrs['type']} button."]
        if errors:
            raise ValidationError(errors)
        return attrs


class WhatsAppTemplateSerializer(StrictSerializer):
    name = serializers.RegexField(
        TEMPLATE_NAME,
        error_messages={"invalid": "Use 1-512 lowercase letters, digits or underscores."},
    )
    language = serializers.RegexField(
        LANGUAGE_CODE,
        error_messages={"invalid": "Enter a WhatsApp language code such as en or en_US."},
    )
    parameters = IndexedListField(child=MessageTextField(max_length=1024), required=False)
    headerParameters = IndexedListField(child=MessageTextField(max_length=1024), required=False)
    buttons = serializers.ListField(
        child=WhatsAppTemplateButtonSerializer(), required=False, max_length=MAX_TEMPLATE_BUTTONS
    )

    def validate_buttons(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        indexes = [button["index"] for button in value]
        if len(set(indexes)) != len(indexes):
            raise ValidationError("Each button index may be given once.")
        return value


class WhatsAppContentSerializer(StrictSerializer):
    type = EnumField(("regular", "template"))
    regular = WhatsAppRegularSerializer(required=False)
    template = WhatsAppTemplateSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["type"]
        other = "template" if kind == "regular" else "regular"
        errors: dict[str, list[str]] = {}
        if kind not in attrs:
            errors[kind] = [f"Required when type is {kind}."]
        if other in attrs:
            errors[other] = [f"Not allowed when type is {kind}."]
        if errors:
            raise ValidationError(errors)
        return attrs
