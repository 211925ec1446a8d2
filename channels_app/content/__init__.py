"""Validation of a send request's channel content and destination, before anything is stored.

Everything a provider would refuse for reasons visible in the request is refused here with a 400,
so a Message row only exists for content that an adapter can translate.

``validate_content(channel, data)`` takes the inner channel object (the value of ``"sms"``,
``"whatsapp"``/``"whatsApp"``, ``"viber"``, ``"gbm"`` or ``"telegram"``) and returns it cleaned in
the same camelCase shape; that is what adapters receive as ``OutboundMessage.content``.
Cleaning means: absent optional fields stay absent, ``null`` on an optional field counts as
absent, enum values are returned in their canonical spelling (matched case-insensitively),
phone numbers inside content are E.164, Viber's ``mediaUrl: ""`` is removed and a Viber file's
``fileName`` is filled in from its URL when missing. Per-channel rules are documented in each
module (sms, whatsapp, viber, gbm, telegram).

Unknown fields are rejected: any key a channel object (or an object nested in it) does not
define gets an ``"Unknown field."`` error at its own path, because silently dropping a typo such
as ``captoin`` would send the message without its caption. The one exception is Viber's
``keyboard``, which is Viber's own structure and is passed through after a shape check.

Errors are ``rest_framework.exceptions.ValidationError`` whose ``detail`` is relative to the
channel object and nested by camelCase field name: a dict for an object, a list by index for an
array (``{}`` or ``[]`` for items without errors), and a list of messages for the node itself.
A rule about the object as a whole ("exactly one of ...") is reported under DRF's
``non_field_errors`` key of that object. The caller nests the detail under the channel key it
read, so ``{"text": {"message": [...]}}`` from ``validate_content("telegram", ...)`` becomes
``telegram.text.message``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from channels_app.content.destinations import normalise_destination
from channels_app.providers.gbm.content import GbmContentSerializer
from channels_app.providers.mitto_sms.content import SmsContentSerializer
from channels_app.providers.mitto_sms.encoding import sms_encoding_and_segments
from channels_app.providers.telegram.content import TelegramContentSerializer
from channels_app.providers.viber.content import ViberContentSerializer
from channels_app.providers.whatsapp.content import WhatsAppContentSerializer
from gateway.channels import Channel

__all__ = ["CONTENT_SERIALIZERS", "normalise_destination", "sms_encoding_and_segments", "validate_content"]

CONTENT_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    Channel.SMS: SmsContentSerializer,
    Channel.WHATSAPP: WhatsAppContentSerializer,
    Channel.VIBER: ViberContentSerializer,
    Channel.GBM: GbmContentSerializer,
    Channel.TELEGRAM: TelegramContentSerializer,
}


def validate_content(channel: str, data: object) -> dict[str, Any]:
    """The cleaned channel object; ValidationError with a nested detail if it is invalid.

    An unknown ``channel`` is a programming error, not bad input, hence ValueError.
    """
    try:
        serializer_class = CONTENT_SERIALIZERS[channel]
    except KeyError:
        raise ValueError(f"Unknown channel {channel!r}") from None
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
