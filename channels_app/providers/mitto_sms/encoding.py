"""SMS encoding choice and segment count, as a handset and the SMSC see them.

Used to cap SMS text before it reaches Mitto (who would bill every segment) and to report the
expected number of parts. The arithmetic is the plain 3GPP one: GSM 03.38 text is GSM-7 unless a
character falls outside the basic set and its extension table, in which case the whole message is
UCS-2 and counted in UTF-16 code units (an emoji outside the BMP is a surrogate pair, two units).
Concatenated parts lose room to the user data header: 153 GSM-7 septets or 67 UCS-2 units each.
The count ignores that some SMSCs avoid splitting an escape sequence or a surrogate pair across a
part boundary, which can add one part at the edges; Mitto's ``auto`` type does the real split.
"""

from __future__ import annotations

import math

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet in code-point order, without 0x1B (the escape to the extension table,
# which is not a character a text can contain).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + character).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_SEGMENT = {GSM7: 160, UCS2: 70}
CONCATENATED_SEGMENT = {GSM7: 153, UCS2: 67}


def gsm7_length(text: str) -> int | None:
    """Septets needed to send ``text`` as GSM-7, or None when it needs UCS-2."""
    units = 0
    for char in text:
        if char in GSM7_BASIC:
            units += 1
        elif char in GSM7_EXTENSION:
            units += 2
        else:
            return None
    return units


def ucs2_length(text: str) -> int:
    """UTF-16 code units: what UCS-2 SMS (really UTF-16 on modern handsets) carries."""
    return len(text.encode("utf-16-le")) // 2


def sms_encoding_and_segments(text: str) -> tuple[str, int]:
    """Return ``(encoding, segments)`` for ``text``; an empty text still costs one SMS."""
    units = gsm7_length(text)
    encoding = GSM7
    if units is None:
        encoding, units = UCS2, ucs2_length(text)
    if units <= SINGLE_SEGMENT[encoding]:
        return encoding, 1
    return encoding, math.ceil(units / CONCATENATED_SEGMENT[encoding])
