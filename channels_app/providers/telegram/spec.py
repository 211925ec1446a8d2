"""Telegram bots: what the rest of the gateway needs to know about the channel."""

from __future__ import annotations

from channels_app.providers.spec import CallbackRoute, ChannelSpec
from channels_app.providers.telegram.adapter import TelegramAdapter
from channels_app.providers.telegram.content import TelegramContentSerializer
from channels_app.providers.telegram.destination import telegram_destination
from gateway.channels import Channel

SPEC = ChannelSpec(
    channel=Channel.TELEGRAM,
    adapter=TelegramAdapter,
    content_serializer=TelegramContentSerializer,
    normalise_destination=telegram_destination,
    credential_keys=("bot_token", "secret_token"),
    # The Bot API reports nothing about a sent message: no delivery or read receipts.
    reported_statuses=frozenset(),
    callback_route=CallbackRoute("callbacks:telegram", account_in="query"),
    # The webhook is registered through the Bot API (channels_app.callbacks.registration), with
    # a secret_token of ours that Telegram then sends in every update.
    webhook_secret_key="secret_token",  # noqa: S106 (the name of the credential, not its value)
)
