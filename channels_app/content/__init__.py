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
provider package's ``content.py``; which serializer and destination rule a channel uses is read
from its ``ChannelSpec`` (``channels_app.providers.registry``).

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

from channels_app.content.destinations import destination_text
from channels_app.providers.mitto_sms.encoding import sms_encoding_and_segments

__all__ = ["normalise_destination", "sms_encoding_and_segments", "validate_content"]


def validate_content(channel: str, data: object) -> dict[str, Any]:
    """The cleaned channel object; ValidationError with a nested detail if it is invalid.

    An unknown ``channel`` is a programming error, not bad input, hence ValueError.
    """
    # Imported here: the provider packages import this package's helpers (common, bounds,
    # destinations), so the registry, which imports them, cannot be imported while it loads.
    from channels_app.providers.registry import spec_for

    serializer = spec_for(channel).content_serializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def normalise_destination(channel: str, value: object, *, viber_kind: str | None = None) -> str:
    """The canonical destination for ``channel``; ValidationError (a one-message list) if invalid.

    ``viber_kind`` ("bot" or "business") narrows Viber to what that kind of account addresses;
    without it either form is read. An unknown ``channel`` is a programming error, not bad
    input, hence ValueError.
    """
    from channels_app.providers.registry import spec_for

    spec = spec_for(channel)
    kind = spec.kind(viber_kind)
    normalise = kind.normalise_destination if kind is not None else spec.normalise_destination
    return normalise(destination_text(value))
