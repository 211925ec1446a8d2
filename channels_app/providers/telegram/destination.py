"""Telegram's destinations: an integer chat id (negative for groups and channels, within 64 bits)
or ``@channelusername`` (5-32 of ``[A-Za-z0-9_]``)."""

from __future__ import annotations

import re

from channels_app.content.destinations import invalid_destination

TELEGRAM_CHAT_ID = re.compile(r"-?[1-9][0-9]{0,18}")
TELEGRAM_USERNAME = re.compile(r"@[A-Za-z0-9_]{5,32}")


def telegram_destination(text: str) -> str:
    if TELEGRAM_CHAT_ID.fullmatch(text) and abs(int(text)) < 2**63:
        return text
    if TELEGRAM_USERNAME.fullmatch(text):
        return text
    raise invalid_destination("Enter a Telegram chat id (an integer) or @channelusername (5-32 letters, digits, _).")
