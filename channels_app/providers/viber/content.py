"""The ``viber`` object: a message ``type`` and any of text, mediaUrl, file, button, keyboard.

Rules enforced, and why:
- ``type`` is session, promotional, transactional or regular (the Chat API's categories, docs/chat-api.md; its
  own "regular" example is accepted).
- Text is capped at 1000 characters: Business Messages' limit, stricter than the Bot API's 7000,
  so a message stays sendable whichever Viber route the account uses.
- A transactional message may not carry ``mediaUrl`` or ``file``: the Chat API defines transactional
  as "text and optional URL related to the text" and lists media and files under session and
  promotional only. No other type restriction is applied; buttons are not limited by type
  because the Chat API does not say so clearly.
- ``mediaUrl: ""`` (as in the Chat API's regular example) means no media and is removed.
- A button needs text (a bare button has nothing to label the message with) and an action that
  is an http(s) URL or a ``viber://`` scheme; ``mediaUrl`` and ``file`` cannot both be given.
- A file without ``fileName`` must have a URL ending in a file name, which is then copied into
  ``fileName`` (the Chat API: "if it is not given the system will try to determine from the URL").
  The 25-character limit applies to a name the client gives.
- ``keyboard`` is the Bot API's own object: checked for ``"Type": "keyboard"`` and 1-24
  ``Buttons`` objects and bounded like every free-form object (``content/bounds.py``), then
  passed through untouched, so the unknown-field rule stops there.
  With a ``button`` it may hold only 23, since the button is sent as one more keyboard button.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from channels_app.content.bounds import bounded_json
from channels_app.content.common import (
    NON_FIELD_ERRORS,
    EnumField,
    HttpUrlField,
    MessageTextField,
    StrictSerializer,
)

MESSAGE_TYPES = ("session", "promotional", "transactional", "regular")
MIN_TTL_SECONDS = 30
MAX_TTL_SECONDS = 1_209_600
MAX_KEYBOARD_BUTTONS = 24
SANE_FILE_NAME = re.compile(r"[^/\\]+\.[A-Za-z0-9]{1,10}")
VIBER_SCHEME = re.compile(r"viber://\S+")
_HTTP_URL = URLValidator(schemes=["http", "https"])


def _viber_action(value: str) -> None:
    if VIBER_SCHEME.fullmatch(value):
        return
    try:
        _HTTP_URL(value)
    except DjangoValidationError:
        raise ValidationError("Enter an http(s) URL or a viber:// URL scheme.", code="invalid") from None


def file_name_from_url(url: str) -> str | None:
    """The last path segment of ``url`` when it looks like a file name (``report.pdf``)."""
    name = unquote(posixpath.basename(urlsplit(url).path))
    return name if SANE_FILE_NAME.fullmatch(name) else None


class ViberKeyboardField(serializers.Field):
    default_error_messages = {
        "invalid": 'Expected a keyboard object with "Type": "keyboard".',
        "buttons": f'"Buttons" must be a list of 1-{MAX_KEYBOARD_BUTTONS} button objects.',
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping) or data.get("Type") != "keyboard":
            self.fail("invalid")
        bounded_json(data)
        buttons = data.get("Buttons")
        if (
            not isinstance(buttons, list)
            or not 1 <= len(buttons) <= MAX_KEYBOARD_BUTTONS
            or not all(isinstance(button, Mapping) for button in buttons)
        ):
            self.fail("buttons")
        return dict(data)

    def to_representation(self, value: Any) -> Any:
        return value


class ViberButtonSerializer(StrictSerializer):
    caption = MessageTextField(max_length=30)
    action = serializers.CharField(max_length=2048, validators=[_viber_action])


class ViberFileSerializer(StrictSerializer):
    mediaUrl = HttpUrlField()
    fileName = serializers.CharField(required=False, max_length=25)
    size = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "fileName" not in attrs:
            derived = file_name_from_url(attrs["mediaUrl"])
            if derived is None:
                raise ValidationError({"fileName": ["Required when the URL does not end in a file name."]})
            attrs["fileName"] = derived
        return attrs


class ViberContentSerializer(StrictSerializer):
    type = EnumField(MESSAGE_TYPES)
    text = MessageTextField(required=False, max_length=1000)
    mediaUrl = HttpUrlField(required=False, allow_blank=True)
    file = ViberFileSerializer(required=False)
    button = ViberButtonSerializer(required=False)
    keyboard = ViberKeyboardField(required=False)
    ttl = serializers.IntegerField(required=False, min_value=MIN_TTL_SECONDS, max_value=MAX_TTL_SECONDS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("mediaUrl") == "":
            del attrs["mediaUrl"]
        if not any(name in attrs for name in ("text", "mediaUrl", "file", "button", "keyboard")):
            raise ValidationError(
                {NON_FIELD_ERRORS: ["Give at least one of: text, mediaUrl, file, button, keyboard."]},
                code="required",
            )
        errors: dict[str, list[str]] = {}
        if "button" in attrs and "text" not in attrs:
            errors.setdefault("text", []).append("Required when a button is given.")
        if "button" in attrs and len(attrs.get("keyboard", {}).get("Buttons", [])) >= MAX_KEYBOARD_BUTTONS:
            errors.setdefault("keyboard", []).append(
                f"With a button, a keyboard holds at most {MAX_KEYBOARD_BUTTONS - 1} buttons: "
                "the button is sent as the last keyboard button."
            )
        if "mediaUrl" in attrs and "file" in attrs:
            errors.setdefault("file", []).append("Cannot be combined with mediaUrl.")
        if attrs["type"] == "transactional":
            for name in ("mediaUrl", "file"):
                if name in attrs:
                    errors.setdefault(name, []).append(
                        "Not allowed for transactional messages; use promotional or session."
                    )
        if errors:
            raise ValidationError(errors)
        return attrs
