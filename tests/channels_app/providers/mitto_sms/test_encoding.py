"""Encoding choice and segment counts at the single-part and concatenation boundaries."""

from __future__ import annotations

import pytest

from channels_app.content import sms_encoding_and_segments
from channels_app.providers.mitto_sms.encoding import GSM7_BASIC

EMOJI = "\N{GRINNING FACE}"  # outside the BMP: two UTF-16 code units


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", ("GSM-7", 1), id="empty-costs-one"),
        pytest.param("a" * 160, ("GSM-7", 1), id="gsm-160"),
        pytest.param("a" * 161, ("GSM-7", 2), id="gsm-161"),
        pytest.param("a" * 306, ("GSM-7", 2), id="gsm-2x153"),
        pytest.param("a" * 307, ("GSM-7", 3), id="gsm-2x153-plus-1"),
        pytest.param("a" * 1530, ("GSM-7", 10), id="gsm-10x153"),
        pytest.param("€" * 80, ("GSM-7", 1), id="extension-80x2"),
        pytest.param("€" * 80 + "a", ("GSM-7", 2), id="extension-80x2-plus-1"),
        pytest.param("a" * 159 + "^", ("GSM-7", 2), id="extension-char-crosses-160"),
        pytest.param("{}[]~|\\^\f€", ("GSM-7", 1), id="every-extension-char"),
        pytest.param("ж" * 70, ("UCS-2", 1), id="ucs2-70"),
        pytest.param("ж" * 71, ("UCS-2", 2), id="ucs2-71"),
        pytest.param("ж" * 134, ("UCS-2", 2), id="ucs2-2x67"),
        pytest.param("ж" * 135, ("UCS-2", 3), id="ucs2-2x67-plus-1"),
        pytest.param(EMOJI * 35, ("UCS-2", 1), id="emoji-35x2"),
        pytest.param(EMOJI * 35 + "a", ("UCS-2", 2), id="emoji-35x2-plus-1"),
        pytest.param("a" * 69 + "ç", ("UCS-2", 1), id="one-non-gsm-char-switches-all"),
        pytest.param("a" * 70 + "ç", ("UCS-2", 2), id="one-non-gsm-char-switches-all-71"),
    ],
)
def test_encoding_and_segments(text: str, expected: tuple[str, int]) -> None:
    assert sms_encoding_and_segments(text) == expected


def test_gsm_extension_chars_count_two_units() -> None:
    assert sms_encoding_and_segments("a" * 158 + "€") == ("GSM-7", 1)
    assert sms_encoding_and_segments("a" * 159 + "€") == ("GSM-7", 2)


def test_whole_basic_alphabet_is_gsm7_at_one_unit_each() -> None:
    alphabet = "".join(sorted(GSM7_BASIC))

    assert len(alphabet) == 127  # 128 code points minus the escape to the extension table
    assert sms_encoding_and_segments(alphabet) == ("GSM-7", 1)
    assert sms_encoding_and_segments(alphabet + "a" * 33) == ("GSM-7", 1)
    assert sms_encoding_and_segments(alphabet + "a" * 34) == ("GSM-7", 2)
