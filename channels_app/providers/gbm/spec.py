"""Google Business Messages: what the rest of the gateway needs to know about the channel."""

from __future__ import annotations

from channels_app.providers.gbm.adapter import GbmAdapter
from channels_app.providers.gbm.content import GbmContentSerializer
from channels_app.providers.gbm.destination import gbm_destination
from channels_app.providers.spec import CallbackRoute, ChannelSpec
from channels_app.status import Status
from gateway.channels import Channel

SPEC = ChannelSpec(
    channel=Channel.GBM,
    adapter=GbmAdapter,
    content_serializer=GbmContentSerializer,
    normalise_destination=gbm_destination,
    credential_keys=("service_account_json", "access_token", "client_token"),
    reported_statuses=frozenset({Status.DELIVERED, Status.READ}),
    callback_route=CallbackRoute("callbacks:gbm", account_in="path"),
    webhook_setup="GBM webhooks are set in the Business Communications console: webhook URL {callback_url}.",
)
