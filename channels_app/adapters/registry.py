"""The explicit channel -> adapter registry. Adding a provider adds one line here."""

from __future__ import annotations

from channels_app.adapters.base import Channel, ChannelAdapter, ProviderAccount
from channels_app.adapters.gbm import GbmAdapter
from channels_app.adapters.mitto_sms import MittoSmsAdapter
from channels_app.adapters.telegram import TelegramAdapter
from channels_app.adapters.viber import ViberAdapter
from channels_app.adapters.viber_business import ViberBusinessAdapter
from channels_app.adapters.whatsapp import WhatsAppAdapter

ADAPTERS: dict[str, type[ChannelAdapter]] = {
    Channel.SMS: MittoSmsAdapter,
    Channel.WHATSAPP: WhatsAppAdapter,
    Channel.VIBER: ViberAdapter,
    Channel.GBM: GbmAdapter,
    Channel.TELEGRAM: TelegramAdapter,
}


def adapter_for(account: ProviderAccount) -> ChannelAdapter:
    if account.channel == Channel.VIBER and account.viber_kind == "business":
        return ViberBusinessAdapter(account)
    return ADAPTERS[account.channel](account)
