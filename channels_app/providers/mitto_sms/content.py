"""The ``sms`` object of a send request: ``{"text": ..., "sender": ...}``.

The Chat API's sender rule (docs/chat-api.md) (numeric 1-16 or alphanumeric 1-11) is the operators' rule for originator
addresses; checking it here turns Mitto's response codes 5/6 ("empty/invalid sender") into a 400
the customer sees at once instead of a Failed message later.
"""

from __future__ import annotations

import re

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from channels_app.content.common import MessageTextField, StrictSerializer
from channels_app.providers.mitto_sms.encoding import sms_encoding_and_segments

# Mitto concatenates long texts itself with a User Data Header of 6 octets (the "7 characters"
# each part loses to the UDH in Mitto's long-SMS guide: 153 GSM-7 / 67 UCS-2 per part). That
# header counts the parts in one octet, so 255 parts is the most Mitto can send as one message:
# 39,015 GSM-7 characters or 17,085 UCS-2 units.
MAX_SEGMENTS = 255

NUMERIC_SENDER = re.compile(r"\+?[0-9]{1,16}")
# Letters, digits, space and the punctuation operators accept in alphanumeric originators.
ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 .,\-_&'!?#@:()/]{1,11}")

SENDER_ERROR = (
    "Enter a numeric sender of 1-16 digits (a leading + is allowed and not counted) or an "
    "alphanumeric sender of 1-11 letters, digits, spaces or punctuation."
)


class SmsContentSerializer(StrictSerializer):
    text = MessageTextField()
    sender = serializers.CharField(required=False)

    def validate_text(self, value: str) -> str:
        encoding, segments = sms_encoding_and_segments(value)
        if segments > MAX_SEGMENTS:
            raise ValidationError(
                f"Ensure this text fits in {MAX_SEGMENTS} SMS segments; as {encoding} it needs {segments}.",
                code="max_segments",
            )
        return value

    def validate_sender(self, value: str) -> str:
        if NUMERIC_SENDER.fullmatch(value) or ALPHANUMERIC_SENDER.fullmatch(value):
            return value
        raise ValidationError(SENDER_ERROR, code="invalid_sender")
