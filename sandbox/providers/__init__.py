"""The simulated providers, one module each, keyed by the gateway's channel names."""

from __future__ import annotations

from sandbox.config import SandboxConfig
from sandbox.providers.base import Provider
from sandbox.providers.gbm import GbmProvider
from sandbox.providers.mitto import MittoProvider
from sandbox.providers.telegram import TelegramProvider
from sandbox.providers.viber import ViberProvider
from sandbox.providers.viber_business import ViberBusinessProvider
from sandbox.providers.whatsapp import WhatsAppProvider
from sandbox.state import SandboxState

PROVIDER_CLASSES: tuple[type[Provider], ...] = (
    MittoProvider, WhatsAppProvider, ViberProvider, ViberBusinessProvider, GbmProvider, TelegramProvider,
)
# Names a control request may use for a channel besides the gateway's own.
CHANNEL_ALIASES = {"mitto": "sms"}


def build_providers(state: SandboxState, config: SandboxConfig) -> dict[str, Provider]:
    return {cls.channel: cls(state, config) for cls in PROVIDER_CLASSES}
