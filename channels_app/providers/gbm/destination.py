"""Business Messages destinations: a conversation id (1-128 of ``[A-Za-z0-9_-]``)."""

from __future__ import annotations

import re

from channels_app.content.destinations import invalid_destination

GBM_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def gbm_destination(text: str) -> str:
    if GBM_CONVERSATION_ID.fullmatch(text):
        return text
    raise invalid_destination("Enter a Business Messages conversation id (1-128 letters, digits, _ or -).")
