"""Standard Webhooks signatures (https://www.standardwebhooks.com).

Receivers verify with any Standard Webhooks library: the signed content is
``{webhook-id}.{webhook-timestamp}.{body}`` under HMAC-SHA256 with the secret's key bytes (the
base64 after ``whsec_``). While a rotation window is open the event carries one signature per
live secret, space-separated, so a receiver on either secret accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from django.utils import timezone

from webhooks_app.models import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format marker, not a secret


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def live_secrets(webhook: Webhook, *, now: datetime | None = None) -> list[str]:
    """The current secret, then the previous one while its rotation window is open."""
    now = now or timezone.now()
    secrets = [webhook.secret]
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires is not None and expires > now:
        secrets.append(webhook.previous_secret)
    return secrets


def signature_headers(*, webhook: Webhook, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    signatures = [
        signature(secret=secret, event_id=event_id, timestamp=timestamp, body=body)
        for secret in live_secrets(webhook)
    ]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
