"""Our public callback URLs, as providers must be told them.

Built from ``PUBLIC_BASE_URL`` and the named routes, so the URL a provider is given and the
route that answers it cannot drift apart.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from accounts_app.models import TrafficAccount
from channels_app.callbacks.tokens import callback_url_with_token, issue_callback_token
from channels_app.providers.registry import SPECS
from gateway.channels import Channel

# The ``?ta=`` query the Chat API guide puts on Viber and Telegram webhook URLs (docs/chat-api.md).
ACCOUNT_QUERY_PARAMETER = "ta"

# Declared by each provider package (``ChannelSpec.callback_route``).
_ROUTES_BY_QUERY = {
    channel: spec.callback_route.url_name
    for channel, spec in SPECS.items()
    if spec.callback_route is not None and spec.callback_route.account_in == "query"
}
_ROUTES_BY_PATH = {
    channel: spec.callback_route.url_name
    for channel, spec in SPECS.items()
    if spec.callback_route is not None and spec.callback_route.account_in == "path"
}


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def callback_url(account: TrafficAccount) -> str:
    """The webhook URL for an account of a channel with a ``callback_route`` (WhatsApp, Viber,
    Telegram, GBM).

    SMS has no such URL: Mitto's URLs carry signed tokens (per message for reports, see
    ``mitto_inbound_url`` for two-way SMS).
    """
    if account.channel in _ROUTES_BY_QUERY:
        query = urlencode({ACCOUNT_QUERY_PARAMETER: str(account.id)})
        return _absolute(f"{reverse(_ROUTES_BY_QUERY[account.channel])}?{query}")
    if account.channel in _ROUTES_BY_PATH:
        return _absolute(reverse(_ROUTES_BY_PATH[account.channel], kwargs={"account_id": str(account.id)}))
    raise ValueError(f"{account.channel} accounts have no fixed callback URL")


def mitto_inbound_url(*, account: TrafficAccount, lifetime_seconds: int) -> str:
    """The two-way SMS forwarding URL to configure at Mitto for ``account``.

    It is configured once and used for a long time, hence its own lifetime; signing-key rotation
    still applies, so a new URL must be configured before the key that signed it is removed.
    """
    if account.channel != Channel.SMS:
        raise ValueError("two-way SMS URLs exist for SMS accounts only")
    token = issue_callback_token(
        subject=str(account.id), purpose="inbound", lifetime=lifetime_seconds,
        generation=account.callback_token_generation,
    )
    return callback_url_with_token(_absolute(reverse("callbacks:sms-inbound")), token)
