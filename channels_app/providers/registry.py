"""The explicit list of provider packages. Adding a provider adds one line here.

Every per-channel table of the gateway is read from these specs (see
``channels_app.providers.spec``), in this order: the order of the OpenAPI document's enums.
"""

from __future__ import annotations

from channels_app.providers.base import ChannelAdapter, ProviderAccount
from channels_app.providers.gbm.spec import SPEC as GBM
from channels_app.providers.mitto_sms.spec import SPEC as MITTO_SMS
from channels_app.providers.spec import ChannelSpec
from channels_app.providers.telegram.spec import SPEC as TELEGRAM
from channels_app.providers.viber.spec import SPEC as VIBER
from channels_app.providers.whatsapp.spec import SPEC as WHATSAPP

SPECS: dict[str, ChannelSpec] = {spec.channel: spec for spec in (MITTO_SMS, WHATSAPP, VIBER, GBM, TELEGRAM)}

ADAPTERS: dict[str, type[ChannelAdapter]] = {channel: spec.adapter for channel, spec in SPECS.items()}


def spec_for(channel: str) -> ChannelSpec:
    """The spec of ``channel``; an unknown channel is a programming error, not bad input."""
    try:
        return SPECS[channel]
    except KeyError:
        raise ValueError(f"Unknown channel {channel!r}") from None


def adapter_for(account: ProviderAccount) -> ChannelAdapter:
    spec = spec_for(account.channel)
    kind = spec.kind(account.viber_kind)
    return (kind.adapter if kind is not None else spec.adapter)(account)
