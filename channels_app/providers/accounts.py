"""The adapter's view of a traffic account.

Adapters take a plain ``ProviderAccount`` rather than the model, so they stay free of the ORM; this
is the one place that builds it. ``accounts_app`` knows nothing of adapters, which is why this
lives here and not on the model.
"""

from __future__ import annotations

from accounts_app.models import TrafficAccount
from channels_app.providers.base import ProviderAccount, ProviderConfigError
from gateway.provider_urls import base_url_refusal


def provider_account(account: TrafficAccount) -> ProviderAccount:
    """A base URL off the allow-list is refused here too, not only in forms: the stored
    credentials must never be sent to a host an edit chose."""
    if account.base_url:
        refusal = base_url_refusal(account.channel, account.base_url)
        if refusal:
            raise ProviderConfigError("base_url_refused", refusal)
    return ProviderAccount(
        id=account.id,
        channel=account.channel,
        base_url=account.resolved_base_url,
        credentials=dict(account.credentials or {}),
        sender=account.sender,
        display_name=account.display_name or account.name,
        test_mode=account.test_mode,
        viber_kind=account.viber_kind,
    )
