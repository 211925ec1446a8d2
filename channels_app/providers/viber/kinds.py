"""What each kind of Viber traffic account can carry, checked when a message is accepted.

The ``viber`` object is one shape for both kinds (the Chat API's), but the two Viber products
differ: the Bot API has no billing category and no time to live (its only "type" is the kind of
message: text, picture, file, ...), while Business Messages have a category (transactional,
promotional or session), a TTL and a call-to-action button, but no custom keyboards. A field
the account's product has no place for is refused here, never dropped on the way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ValidationError

BOT = "bot"
BUSINESS = "business"

# The Chat API's types (docs/chat-api.md) a bot account may use: its 1-on-1 chat is a session;
# "regular" is a plain message.
BOT_TYPES = ("regular", "session")
BUSINESS_TYPES = ("transactional", "promotional", "session")


def viber_kind_check(kind: str, content: Mapping[str, Any]) -> None:
    """Raise ``ValidationError`` (paths relative to the ``viber`` object) for fields the account's
    Viber product cannot carry."""
    errors: dict[str, list[str]] = {}
    kind_type = str(content.get("type", ""))
    if kind == BOT:
        if kind_type not in BOT_TYPES:
            errors["type"] = [
                f"{kind_type!r} is a Viber Business Messages category; a bot account sends in its 1-on-1 "
                f"chat, which has none. Use {' or '.join(BOT_TYPES)}, or a Business Messages traffic account."
            ]
        if "ttl" in content:
            errors["ttl"] = [
                "The Viber Bot API has no time to live; ttl needs a Business Messages traffic account."
            ]
    else:
        if kind_type not in BUSINESS_TYPES:
            errors["type"] = [f"Viber Business Messages take one of: {', '.join(BUSINESS_TYPES)}."]
        if "keyboard" in content:
            errors["keyboard"] = [
                "Custom keyboards are a Viber Bot API feature; Business Messages take one button."
            ]
        if "file" in content and "button" in content:
            errors["button"] = ["A Business Messages file message cannot carry a button."]
        if "mediaUrl" in content and "button" in content and "text" not in content:
            errors["text"] = ["Required with an image and a button."]
    if errors:
        raise ValidationError(errors)
