"""What a provider package declares about its channel, in one place: ``ChannelSpec``.

Each provider package has a ``spec.py`` with one ``SPEC``; ``channels_app.providers.registry``
lists them, and every consumer that used to keep its own per-channel table (content validation,
destination rules, which statuses a channel reports, callback URLs, webhook registration, the
OpenAPI document, the credential keys the accounts app checks) reads it from there. So adding a
channel is one package and one registry line, plus the few places named in
docs/adding-a-provider.md that cannot read the registry (database choices, settings, the sandbox).

What stays on the adapter class because the adapter itself needs it: ``sensitive_headers`` (the
header names masked in recorded exchanges), ``dedupes_on_our_id``, ``provider_name``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from rest_framework import serializers

from channels_app.providers.base import ChannelAdapter

# Reads one destination (already text) and returns its canonical form, or raises the
# ValidationError of ``channels_app.content.destinations.invalid_destination``.
DestinationRule = Callable[[str], str]


@dataclass(frozen=True)
class CallbackRoute:
    """The named route providers call for this channel, and where it carries the account id:
    in the path (``/callbacks/whatsapp/<account_id>``) or in the ``?ta=`` query."""

    url_name: str
    account_in: Literal["path", "query"]


@dataclass(frozen=True)
class AccountKind:
    """A variant of a channel chosen per traffic account (Viber's ``viber_kind``): its own
    adapter, destination rule and webhook setup."""

    adapter: type[ChannelAdapter]
    normalise_destination: DestinationRule
    # As ``ChannelSpec.webhook_setup``; None keeps the channel's.
    webhook_setup: str | None = None


@dataclass(frozen=True)
class ChannelSpec:
    """One channel's facts, declared by its provider package."""

    channel: str
    adapter: type[ChannelAdapter]
    # Validates the channel object of a send request (channels_app.content.validate_content).
    content_serializer: type[serializers.Serializer]
    normalise_destination: DestinationRule
    # The credential keys the adapter reads; any other key is refused when an account is saved.
    credential_keys: tuple[str, ...]
    # The statuses beyond Sent and Failed the provider ever reports (channels_app.capabilities):
    # empty means no receipts at all, which the statistics timeline shows as such.
    reported_statuses: frozenset[str]
    # The provider's callback route, when its webhook URL is fixed per account (not per message).
    callback_route: CallbackRoute | None = None
    # Where an operator registers the webhook when we cannot do it by API; "{callback_url}" is
    # replaced by the account's URL. Empty: ``channels_app.callbacks.registration`` manages it.
    webhook_setup: str = ""
    # The credential holding a secret we choose and give the provider when registering its
    # webhook (Telegram's ``secret_token``): generated and stored first when the account has none.
    webhook_secret_key: str = ""
    # Per-account variants keyed by the account's kind (only Viber has them).
    kinds: Mapping[str, AccountKind] = field(default_factory=dict)

    @property
    def has_receipts(self) -> bool:
        """Whether the provider reports anything after Sent."""
        return bool(self.reported_statuses)

    def kind(self, name: str | None) -> AccountKind | None:
        """The variant ``name`` names, when this channel has variants."""
        if not self.kinds or name is None:
            return None
        return self.kinds[name]
