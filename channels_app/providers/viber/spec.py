"""Viber, as a bot (REST Bot API) or a Business Messages sender, chosen per traffic account."""

from __future__ import annotations

from channels_app.providers.spec import AccountKind, CallbackRoute, ChannelSpec
from channels_app.providers.viber.adapter import ViberAdapter
from channels_app.providers.viber.business import ViberBusinessAdapter
from channels_app.providers.viber.content import ViberContentSerializer
from channels_app.providers.viber.destination import (
    viber_bot_destination,
    viber_business_destination,
    viber_destination,
)
from channels_app.status import Status
from gateway.channels import Channel

SPEC = ChannelSpec(
    channel=Channel.VIBER,
    adapter=ViberAdapter,
    content_serializer=ViberContentSerializer,
    normalise_destination=viber_destination,
    # auth_token: a bot's (Bot API); api_key and callback_token: a Business Messages account's.
    credential_keys=("auth_token", "api_key", "callback_token"),
    reported_statuses=frozenset({Status.DELIVERED, Status.READ}),
    callback_route=CallbackRoute("callbacks:viber", account_in="query"),
    # A bot's webhook is registered through the Bot API (channels_app.callbacks.registration).
    kinds={
        "bot": AccountKind(adapter=ViberAdapter, normalise_destination=viber_bot_destination),
        "business": AccountKind(
            adapter=ViberBusinessAdapter,
            normalise_destination=viber_business_destination,
            webhook_setup="Viber Business Messages reports need no registration: each message names its report URL.",
        ),
    },
)
