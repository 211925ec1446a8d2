"""The channels a traffic account can be bound to: values stored in the database and named by
every app, so they live in this leaf module that imports nothing of ours.

Two kinds of per-channel facts live here:

- Static ones, fixed when the code is written: the values and their labels. The model fields'
  ``choices`` are built from ``CHANNEL_CHOICES`` and migrations copy them, so a new channel is
  added here by hand (then ``makemigrations``).
- Facts the provider packages declare (``channels_app.providers.spec.ChannelSpec``) but the
  accounts app needs, which may not import channels_app (the apps depend one way:
  webhooks_app -> channels_app -> accounts_app -> gateway). Dependency inversion: this module
  holds an empty table, and ``channels_app``'s ``AppConfig.ready()`` fills it from the provider
  registry at start-up (``register_credential_keys``). Django runs every ``ready()`` before it
  serves a request or a command, so readers at run time always see it filled; nothing may read
  it at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar


class Channel:
    """The five channels a traffic account can be bound to (values stored in the database)."""

    SMS = "sms"
    WHATSAPP = "whatsapp"
    VIBER = "viber"
    GBM = "gbm"
    TELEGRAM = "telegram"

    ALL: ClassVar[tuple[str, ...]] = (SMS, WHATSAPP, VIBER, GBM, TELEGRAM)


CHANNEL_CHOICES = [
    (Channel.SMS, "SMS (Mitto)"),
    (Channel.WHATSAPP, "WhatsApp"),
    (Channel.VIBER, "Viber"),
    (Channel.GBM, "Google Business Messages"),
    (Channel.TELEGRAM, "Telegram"),
]

_credential_keys: dict[str, tuple[str, ...]] = {}


def register_credential_keys(table: Mapping[str, tuple[str, ...]]) -> None:
    """Called once at start-up with every registered channel's credential keys."""
    _credential_keys.clear()
    _credential_keys.update(table)


def channel_credential_keys() -> Mapping[str, tuple[str, ...]]:
    """Credential keys each channel's adapter understands; anything else is refused when an
    account is saved. Filled at start-up: an empty table means it was read too early."""
    if not _credential_keys:
        raise RuntimeError("credential keys are registered by channels_app at start-up; read them at run time")
    return MappingProxyType(_credential_keys)
