"""The explicit channel -> adapter registry. Adding a provider adds one line here."""

from __future__ import annotations

from channels_app.providers.base import ChannelAdapter, ProviderAccount
from channels_app.providers.gbm.adapter import GbmAdapter
from channels_app.providers.mitto_sms.adapter import MittoSmsAdapter
from channels_app.providers.telegram.adapter import TelegramAdapter
from channels_app.providers.viber.adapter import ViberAdapter
from channels_app.providers.viber.business import ViberBusinessAdapter
from channels_app.providers.whatsapp.adapter import WhatsAppAdapter
from gateway.channels import Channel

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
