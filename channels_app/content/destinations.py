"""Normalising a send request's ``destination`` for the channel it goes out on.

One canonical form per recipient matters beyond validation: conversations are found by
(traffic account, destination), so "+380 98 111 1111" and "380981111111" must be the same person.

Each channel's rule lives with its provider (the ``normalise_destination`` of its
``ChannelSpec``); this module holds the phone number rule they share and the dispatch is
``channels_app.content.normalise_destination``.

- sms, whatsapp: E.164 with "+", validated by ``phonenumbers``. The Chat API's own examples write
  numbers without "+" ("380981111111"), so such input is read as international; a leading "00"
  (the international call prefix) is read the same way. There is no default region: a national
  number ("0981111111") is refused rather than guessed.
- viber: for a bot account a Viber user id (1-64 characters of the base64 alphabet, which is
  what the Bot API's ids are made of) and never a phone number; for a Business Messages account
  a phone number (normalised as above).
- telegram: an integer chat id (negative for groups and channels, within 64 bits) or
  ``@channelusername`` (5-32 of ``[A-Za-z0-9_]``).
- gbm: a conversation id (1-128 of ``[A-Za-z0-9_-]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import REGION_CODE_FOR_NON_GEO_ENTITY, PhoneMetadata, PhoneNumberDesc
from rest_framework.exceptions import ValidationError

# Only what people write in phone numbers: phonenumbers.parse would otherwise read letters
# ("1-800-FLOWERS") and strip trailing junk, turning a Viber user id into a "phone number".
PHONE_CHARACTERS = re.compile(r"\+?[0-9][0-9 ().\-]{2,30}")

PHONE_ERROR = "Enter a valid phone number in international format, e.g. +41791234567."


# "+" and digits only, the form almost every bulk list uses. For such input ``_plain_split`` and
# ``_is_valid`` give phonenumbers' answer without its general machinery, which costs nine tenths
# of a number's validation: parse (RFC 3966, extensions, vanity letters, punctuation) and
# is_valid_number (a separate regular expression per number type).
PLAIN_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{3,19}")
# phonenumbers' bounds for a national significant number (its _MIN/_MAX_LENGTH_FOR_NSN).
NSN_LENGTHS = range(2, 18)
# The number types phonenumbers' _number_type_helper tries, in its order; mobile comes last and
# only when the region's mobile and fixed-line patterns differ.
NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


@dataclass(frozen=True)
class _CallingCode:
    """What parsing and validating a number after this country calling code depends on."""

    national_prefix: re.Pattern[str] | None  # what parse tries to strip from the national number
    regions: tuple[str, ...]  # the regions sharing the code, main one first
    leading_digits: tuple[re.Pattern[str] | None, ...]  # per region, when its metadata has them


@cache
def _calling_code(country_code: int) -> _CallingCode:
    """Read from the metadata once per calling code, as parse and is_valid_number read it."""
    main = PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumbers.region_code_for_country_code(country_code)
    )
    prefix = main.national_prefix_for_parsing if main is not None else None
    regions = tuple(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code])
    leading = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
        pattern = metadata.leading_digits if metadata is not None else None
        leading.append(re.compile(pattern) if pattern is not None else None)
    return _CallingCode(
        national_prefix=re.compile(prefix) if prefix else None, regions=regions, leading_digits=tuple(leading)
    )


def _pattern_for_length(desc: PhoneNumberDesc | None, length: int) -> str | None:
    """``desc``'s pattern if phonenumbers tests a number of ``length`` digits against it."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return desc.national_number_pattern


@cache
def _known_type(country_code: int, region: str, length: int) -> re.Pattern[str] | None:
    """A pattern that national numbers of ``length`` digits match in full exactly when
    phonenumbers' _number_type_helper finds them of a known type in ``region`` (they match the
    general pattern and some type's); None when none of that length does."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    general = _pattern_for_length(metadata.general_desc, length)
    names = NUMBER_TYPES if metadata.same_mobile_and_fixed_line_pattern else (*NUMBER_TYPES, "mobile")
    types = [p for p in (_pattern_for_length(getattr(metadata, name), length) for name in names) if p]
    if general is None or not types:
        return None
    return re.compile(f"(?=(?:{general})\\Z)(?:{'|'.join(f'(?:{p})' for p in types)})")


def _of_known_type(country_code: int, region: str, national: str) -> bool:
    """phonenumbers' ``_number_type_helper(national, metadata) != UNKNOWN`` for ``region``."""
    pattern = _known_type(country_code, region, len(national))
    return pattern is not None and pattern.fullmatch(national) is not None


@cache
def _region_checks_out(country_code: int, region: str) -> bool:
    """is_valid_number_for_region's checks before the number's type: metadata, calling code."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    return metadata is not None and (region == REGION_CODE_FOR_NON_GEO_ENTITY or metadata.country_code == country_code)


def _is_valid(country_code: int, national: str) -> bool:
    """``phonenumbers.is_valid_number`` for that number (``national`` without leading zeros).

    A calling code shared by several regions (+1, +7, +44 ...) belongs to the first whose leading
    digits start the number, or else which finds it of a known type, as in region_code_for_number.
    """
    code = _calling_code(country_code)
    if len(code.regions) == 1:
        region = code.regions[0]
    else:
        for region, leading in zip(code.regions, code.leading_digits, strict=True):
            if leading.match(national) if leading is not None else _of_known_type(country_code, region, national):
                break
        else:
            return False
    return _region_checks_out(country_code, region) and _of_known_type(country_code, region, national)


def _plain_split(text: str) -> tuple[int, str] | None:
    """(country calling code, national number) of "+" and digits as phonenumbers.parse reads them,
    or None to leave ``text`` to it.

    For such input parse only splits off the country calling code (the first one to three digits
    that are one) and keeps the rest as the national number, unless the rest starts with a
    national prefix (stripped under conditions) or a zero (kept as "Italian leading zeros"):
    those, input of any other shape and lengths out of range are left to it.
    tests/channels_app/content/test_phone_fast_path.py checks that both give the same answers.
    """
    if not PLAIN_INTERNATIONAL.fullmatch(text):
        return None
    digits = text[1:]
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if len(national) not in NSN_LENGTHS or national[0] == "0":
        return None
    prefix = _calling_code(country_code).national_prefix
    if prefix is not None and prefix.match(national):
        return None
    return country_code, national


def international_text(value: str) -> str | None:
    """``value`` with a leading "+" (for "00" or nothing), or None if it holds other characters."""
    text = value.strip()
    if not PHONE_CHARACTERS.fullmatch(text):
        return None
    if text.startswith("00"):
        return "+" + text[2:]
    return text if text.startswith("+") else "+" + text


def e164_by_phonenumbers(text: str) -> str | None:
    """E.164 form of ``international_text``'s result by phonenumbers' general parser and checks."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_to_e164(value: str) -> str | None:
    """E.164 form of ``value`` read as an international number, or None if it is not valid."""
    text = international_text(value)
    if text is None:
        return None
    plain = _plain_split(text)
    if plain is not None:
        # The E.164 form of a number read this way is the input itself.
        return text if _is_valid(*plain) else None
    return e164_by_phonenumbers(text)


def invalid_destination(message: str) -> ValidationError:
    """The error every destination rule raises: a one-message list with its own code."""
    return ValidationError([message], code="invalid_destination")


def destination_text(value: object) -> str:
    """The destination as text, before a channel's rule reads it."""
    # JSON numbers are accepted for numeric destinations (phone numbers, Telegram chat ids).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise invalid_destination("Enter the destination as a string.")


def phone_destination(text: str) -> str:
    """The destination rule of channels that address phone numbers (SMS, WhatsApp)."""
    normalised = phone_to_e164(text)
    if normalised is None:
        raise invalid_destination(PHONE_ERROR)
    return normalised
