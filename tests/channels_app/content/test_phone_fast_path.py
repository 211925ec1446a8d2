"""phone_to_e164 reads "+" and digits without phonenumbers' general machinery: its answers must be
exactly phonenumbers' own, for every region, number type, length and near miss."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType

from channels_app.content.destinations import (
    NUMBER_TYPES,
    _plain_split,
    e164_by_phonenumbers,
    international_text,
    phone_to_e164,
)


def _phonenumbers_only(value: str) -> str | None:
    """phone_to_e164 with every input read by phonenumbers.parse and is_valid_number."""
    text = international_text(value)
    return None if text is None else e164_by_phonenumbers(text)


def _all_metadata() -> list[PhoneMetadata]:
    regions = [PhoneMetadata.metadata_for_region(r) for r in sorted(phonenumbers.SUPPORTED_REGIONS)]
    codes = sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    non_geo = [PhoneMetadata.metadata_for_nongeo_region(c) for c in codes]
    return [m for m in regions + non_geo if m is not None]


def _example_numbers() -> list[str]:
    """Every example number of the metadata (each region, each type) and the invalid examples."""
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in range(PhoneNumberType.UNKNOWN):
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None:
                examples.append(phonenumbers.format_number(number, PhoneNumberFormat.E164))
        invalid = phonenumbers.invalid_example_number(region)
        if invalid is not None:
            examples.append(phonenumbers.format_number(invalid, PhoneNumberFormat.E164))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            examples.append(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    return sorted(set(examples))


def _near_misses(number: str, rng: random.Random) -> list[str]:
    """Variants of a valid number one mistake away, and other spellings of it."""
    country_code = str(phonenumbers.parse(number).country_code)
    national = number[1 + len(country_code) :]
    digit = str(rng.randrange(10))
    return [
        number[:-1],
        number + digit,
        number[:-1] + digit,
        number[:-2] + digit + number[-1],
        f"+{country_code}{digit}{national[1:]}",
        *(f"+{country_code}{prefix}{national}" for prefix in ("0", "1", "8", "00", "06", "9")),
        number[1:],
        "00" + number[1:],
        f"+{country_code} {national}",
    ]


def _random_numbers(rng: random.Random) -> list[str]:
    """Random national numbers of every length after every calling code, some with a leading 0."""
    numbers = []
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(1, 19):
            for _ in range(3):
                numbers.append(f"+{code}" + "".join(str(rng.randrange(10)) for _ in range(length)))
    numbers += ["+" + "".join(str(rng.randrange(10)) for _ in range(rng.randrange(3, 22))) for _ in range(5000)]
    return numbers


def test_answers_are_phonenumbers_answers_for_every_region_type_and_near_miss() -> None:
    rng = random.Random(20261123)
    examples = _example_numbers()
    inputs = examples + [v for n in examples for v in _near_misses(n, rng)] + _random_numbers(rng)

    differing = [(value, phone_to_e164(value), _phonenumbers_only(value)) for value in inputs]
    differing = [d for d in differing if d[1] != d[2]]

    assert differing == []
    # Not vacuous: most inputs took the fast path, valid and invalid ones alike.
    plain = [value for value in inputs if _plain_split(value) is not None]
    assert len(plain) > len(inputs) / 2
    assert sum(_phonenumbers_only(value) is not None for value in plain) > len(examples) / 2


@pytest.mark.parametrize(
    ("value", "split"),
    [
        pytest.param("+41781234567", (41, "781234567"), id="one-region"),
        pytest.param("+16502530000", (1, "6502530000"), id="shared-calling-code"),
        pytest.param("+4407911123456", None, id="national-prefix-left-to-phonenumbers"),
        pytest.param("+390612345678", None, id="leading-zero-left-to-phonenumbers"),
        pytest.param("+41 78 123 45 67", None, id="punctuation-left-to-phonenumbers"),
        pytest.param("+0041781234567", None, id="no-calling-code"),
    ],
)
def test_what_the_fast_path_reads(value: str, split: tuple[int, str] | None) -> None:
    assert _plain_split(value) == split


def test_metadata_patterns_can_be_joined_into_one_alternation() -> None:
    # A backreference or an inline flag would change meaning once patterns are joined with "|".
    unsafe = re.compile(r"\\[1-9]|\(\?[aiLmsux]|\(\?P")
    patterns = [
        desc.national_number_pattern
        for metadata in _all_metadata()
        for desc in (getattr(metadata, name) for name in ("general_desc", *NUMBER_TYPES, "mobile"))
        if desc is not None and desc.national_number_pattern
    ]

    assert len(patterns) > 1000
    assert [p for p in patterns if unsafe.search(p)] == []
