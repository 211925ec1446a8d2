"""Pointing a provider at our callback URL, for the channels whose API can do it.

Telegram and Viber register webhooks through their bot APIs, so an operator can do it from a
management command or the admin: their adapters implement ``register_webhook``,
``registered_webhook`` and ``unregister_webhook``. WhatsApp and GBM webhooks are set in the
provider's console and SMS two-way numbers at Mitto; for those the error is the provider
package's ``webhook_setup`` text, saying what to enter where.

Telegram's ``secret_token`` is ours to choose (its spec's ``webhook_secret_key``): when the
account has none yet one is generated and stored *before* ``setWebhook``, because Telegram would
otherwise send a secret we do not know and every update would be rejected.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from accounts_app.models import TrafficAccount
from channels_app.callbacks.addresses import callback_url
from channels_app.providers.accounts import provider_account
from channels_app.providers.registry import SPECS, adapter_for

# The channels whose provider package gives no ``webhook_setup`` text: we register them by API
# (the adapter's webhook calls). A Viber Business Messages account is the exception its kind declares.
MANAGED_CHANNELS = frozenset(channel for channel, spec in SPECS.items() if not spec.webhook_setup)
# token_urlsafe gives 43 characters of A-Za-z0-9_-, as Telegram requires of its secret_token.
WEBHOOK_SECRET_BYTES = 32


class WebhookNotManaged(Exception):
    """The channel's webhook is configured outside our reach; the message says how."""


def _webhook_setup(account: TrafficAccount) -> str:
    """The provider package's text saying where the webhook is entered; empty if we manage it."""
    spec = SPECS.get(account.channel)
    if spec is None:
        return f"no webhook registration for {account.channel} accounts"
    kind = spec.kind(account.viber_kind)
    if kind is not None and kind.webhook_setup is not None:
        return kind.webhook_setup
    return spec.webhook_setup


def _require_managed(account: TrafficAccount) -> None:
    setup = _webhook_setup(account)
    if setup:
        # Only texts that name the URL need it: an SMS account has no fixed callback URL.
        if "{callback_url}" in setup:
            setup = setup.format(callback_url=callback_url(account))
        raise WebhookNotManaged(setup)


def webhook_secret_ensure(*, account: TrafficAccount, key: str) -> str:
    """The account's webhook secret credential ``key``, generated and saved when it has none."""
    with transaction.atomic():
        locked = TrafficAccount.objects.select_for_update().get(id=account.id)
        credentials = dict(locked.credentials or {})
        secret = str(credentials.get(key) or "")
        if not secret:
            secret = secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)
            credentials[key] = secret
            locked.credentials = credentials
            locked.save(update_fields=["credentials", "updated_at"])
    account.credentials = credentials
    return secret


def provider_webhook_set(*, account: TrafficAccount) -> dict[str, Any]:
    """Register our callback URL with the provider; returns the provider's answer.

    Raises ``WebhookNotManaged`` for other channels and inactive accounts (their callbacks
    would be answered 404, which Viber's registration check fails on), and the adapters'
    ``SendError`` subclasses when the provider refuses.
    """
    _require_managed(account)
    if not account.is_active:
        raise WebhookNotManaged("the traffic account is inactive: its callbacks would be refused")
    url = callback_url(account)
    secret_key = SPECS[account.channel].webhook_secret_key
    secret = webhook_secret_ensure(account=account, key=secret_key) if secret_key else ""
    return adapter_for(provider_account(account)).register_webhook(url=url, secret=secret)


def provider_webhook_show(*, account: TrafficAccount) -> dict[str, Any]:
    """What the provider has registered: Telegram's webhook info, Viber's account info."""
    _require_managed(account)
    return adapter_for(provider_account(account)).registered_webhook()


def provider_webhook_delete(*, account: TrafficAccount) -> dict[str, Any]:
    """Stop the provider from calling us."""
    _require_managed(account)
    return adapter_for(provider_account(account)).unregister_webhook()
