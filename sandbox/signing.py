"""The providers' callback signatures, byte for byte as each documents them."""

from __future__ import annotations

import base64
import hashlib
import hmac

WHATSAPP_SIGNATURE_HEADER = "X-Hub-Signature-256"
VIBER_SIGNATURE_HEADER = "X-Viber-Content-Signature"
GBM_SIGNATURE_HEADER = "X-Goog-Signature"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def whatsapp_signature(app_secret: str, body: bytes) -> str:
    """Meta: ``sha256=`` + hex HMAC-SHA256 of the raw body keyed with the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def viber_signature(auth_token: str, body: bytes) -> str:
    """Viber: hex HMAC-SHA256 of the raw body keyed with the bot's auth token."""
    return hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()


def gbm_signature(client_token: str, body: bytes) -> str:
    """Google Business Messages: base64 HMAC-SHA512 of the raw body keyed with the client token."""
    return base64.b64encode(hmac.new(client_token.encode(), body, hashlib.sha512).digest()).decode()
