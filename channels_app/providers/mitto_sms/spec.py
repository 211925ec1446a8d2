"""SMS through Mitto: what the rest of the gateway needs to know about the channel."""

from __future__ import annotations

from channels_app.content.destinations import phone_destination
from channels_app.providers.mitto_sms.adapter import MittoSmsAdapter
from channels_app.providers.mitto_sms.content import SmsContentSerializer
from channels_app.providers.spec import ChannelSpec
from channels_app.status import Status
from gateway.channels import Channel

SPEC = ChannelSpec(
    channel=Channel.SMS,
    adapter=MittoSmsAdapter,
    content_serializer=SmsContentSerializer,
    normalise_destination=phone_destination,
    credential_keys=("api_key",),
    # Delivery reports, never read receipts.
    reported_statuses=frozenset({Status.DELIVERED}),
    # Report URLs are signed per message; two-way numbers get the URL of `manage.py mitto_inbound_url`.
    webhook_setup=(
        "SMS delivery reports need no registration (each message carries its callback URL); "
        "for two-way SMS give Mitto the URL printed by `manage.py mitto_inbound_url`."
    ),
)
