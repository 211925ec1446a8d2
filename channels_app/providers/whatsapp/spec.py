"""WhatsApp Cloud API: what the rest of the gateway needs to know about the channel."""

from __future__ import annotations

from channels_app.content.destinations import phone_destination
from channels_app.providers.spec import CallbackRoute, ChannelSpec
from channels_app.providers.whatsapp.adapter import WhatsAppAdapter
from channels_app.providers.whatsapp.content import WhatsAppContentSerializer
from channels_app.status import Status
from gateway.channels import Channel

SPEC = ChannelSpec(
    channel=Channel.WHATSAPP,
    adapter=WhatsAppAdapter,
    content_serializer=WhatsAppContentSerializer,
    normalise_destination=phone_destination,
    credential_keys=("access_token", "phone_number_id", "waba_id", "app_secret", "verify_token"),
    reported_statuses=frozenset({Status.DELIVERED, Status.READ}),
    callback_route=CallbackRoute("callbacks:whatsapp", account_in="path"),
    webhook_setup=(
        "WhatsApp webhooks are set in the Meta app dashboard: callback URL "
        "{callback_url}, verify token = this account's verify_token credential, "
        "and subscribe to the messages and message_template_status_update fields."
    ),
)
