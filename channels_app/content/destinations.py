"""Normalising a send request's ``destination`` for the channel it goes out on.

One canonical form per recipient matters beyond validation: conversations are found by
(traffic account, destination), so "+380 98 111 1111" and "380981111111" must be the same person.

- sms, whatsapp: E.164 with "+", validated by ``phonenumbers``. The Chat API's own examples write
  numbers without "+" ("380981111111"), so such input is read as international; a leading "00"
  (the international call prefix) is read the same way. There is no default region: a national
  number ("0981111111") is refused rather than guessed.
- viber: a phone number (normalised as above) when it is a valid one, otherwise a Viber user id
  (1-64 characters of the base64 alphabet, which is what the Bot API's ids are made of).
- telegram: an integer chat id (negative for groups and channels, within 64 bits) or
  ``@channelusername`` (5-32 of ``[A-Za-z0-9_]``).
- gbm: a conversation id (1-128 of ``[A-Za-z0-9_-]``).
"""

from __future__ import annotations

import re

import phonenumbers
from rest_framework.exceptions import ValidationError

from channels_app.adapters.base import Channel

# Only what people write in phone numbers: phonenumbers.parse would otherwise read letters
# ("1-800-FLOWERS") and strip trailing junk, turning a Viber user id into a "phone number".
PHONE_CHARACTERS = re.compile(r"\+?[0-9][0-9 ().\-]{2,30}")
VIBER_USER_ID = re.compile(r"[A-Za-z0-9+/=]{1,64}")
TELEGRAM_CHAT_ID = re.compile(r"-?[1-9][0-9]{0,18}")
TELEGRAM_USERNAME = re.compile(r"@[A-Za-z0-9_]{5,32}")
GBM_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")

PHONE_ERROR = "Enter a valid phone number in international format, e.g. +41791234567."


def phone_to_e164(value: str) -> str | None:
    """E.164 form of ``value`` read as an international number, or None if it is not valid."""
    text = value.strip()
    if not PHONE_CHARACTERS.fullmatch(text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _invalid(message: str) -> ValidationError:
    return ValidationError([message], code="invalid_destination")


def _as_text(value: object) -> str:
    # JSON numbers are accepted for numeric destinations (phone numbers, Telegram chat ids).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise _invalid("Enter the destination as a string.")


def _phone(text: str) -> str:
    normalised = phone_to_e164(text)
    if normalised is None:
        raise _invalid(PHONE_ERROR)
    return normalised


def _viber(text: str) -> str:
    normalised = phone_to_e164(text)
    if normalised is not None:
        return normalised
    if VIBER_USER_ID.fullmatch(text):
        return text
    raise _invalid("Enter a valid phone number in international format or a Viber user id.")


def _telegram(text: str) -> str:
    if TELEGRAM_CHAT_ID.fullmatch(text) and abs(int(text)) < 2**63:
        return text
    if TELEGRAM_USERNAME.fullmatch(text):
        return text
    raise _invalid("Enter a Telegram chat id (an integer) or @channelusername (5-32 letters, digits, _).")


def _gbm(text: str) -> str:
    if GBM_CONVERSATION_ID.fullmatch(text):
        return text
    raise _invalid("Enter a Business Messages conversation id (1-128 letters, digits, _ or -).")


_NORMALISERS = {
    Channel.SMS: _phone,
    Channel.WHATSAPP: _phone,
    Channel.VIBER: _viber,
    Channel.TELEGRAM: _telegram,
    Channel.GBM: _gbm,
}


def normalise_destination(channel: str, value: object) -> str:
    """The canonical destination for ``channel``; ValidationError (a one-message list) if invalid.

    An unknown ``channel`` is a programming error, not bad input, hence ValueError.
    """
    try:
        normalise = _NORMALISERS[channel]
    except KeyError:
        raise ValueError(f"Unknown channel {channel!r}") from None
    return normalise(_as_text(value))
