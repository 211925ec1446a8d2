"""Viber's destinations: a bot addresses the user ids its webhook reports (the Bot API's ids are
1-64 characters of the base64 alphabet), a Business Messages account addresses phone numbers."""

from __future__ import annotations

import re

from channels_app.content.destinations import PHONE_ERROR, invalid_destination, phone_to_e164

VIBER_USER_ID = re.compile(r"[A-Za-z0-9+/=]{1,64}")

VIBER_BOT_PHONE_ERROR = (
    "This Viber traffic account is a bot: it addresses the Viber user ids its webhook reports, "
    "never phone numbers. Send to phone numbers through a Viber Business Messages traffic account."
)


def viber_destination(text: str) -> str:
    """Either form, for a caller that does not know the account's kind."""
    normalised = phone_to_e164(text)
    if normalised is not None:
        return normalised
    if VIBER_USER_ID.fullmatch(text):
        return text
    raise invalid_destination("Enter a valid phone number in international format or a Viber user id.")


def viber_bot_destination(text: str) -> str:
    """A bot's receiver is the user id Viber gave the bot (Bot API); Viber refuses a number."""
    if phone_to_e164(text) is not None:
        raise invalid_destination(VIBER_BOT_PHONE_ERROR)
    if VIBER_USER_ID.fullmatch(text):
        return text
    raise invalid_destination("Enter the Viber user id of a user of this bot.")


def viber_business_destination(text: str) -> str:
    normalised = phone_to_e164(text)
    if normalised is None:
        raise invalid_destination("Viber Business Messages address phone numbers: " + PHONE_ERROR)
    return normalised
