"""Customer webhook subscriptions: create, change, rotate the secret, apply to traffic accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts_app.models import Customer
from webhooks_app.models import Webhook, WebhookTrafficAccount, new_webhook_secret
from webhooks_app.selectors import traffic_account_get, webhook_get

_UPDATABLE = ("name", "url", "triggers", "is_active")


def webhook_create(*, customer: Customer, name: str, url: str, triggers: list[str], is_active: bool = True) -> Webhook:
    return Webhook.objects.create(customer=customer, name=name, url=url, triggers=triggers, is_active=is_active)


def webhook_update(*, webhook: Webhook, **changes: Any) -> Webhook:
    """Replace the given fields; ``triggers`` is replaced whole, never merged (docs/chat-api.md:
    an update replaces what is there instead of adding to it)."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise TypeError(f"webhook_update got unknown fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(webhook, name, value)
    if changes:
        webhook.save(update_fields=[*changes, "updated_at"])
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    """Delete the webhook with its deliveries and mappings.

    The row lock waits for fan-outs that hold the webhook (see ``webhook_ids_for_event``) and
    holds new ones back until the delete commits, so no delivery row can slip in between
    Django collecting the related rows and deleting the webhook.
    """
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().filter(id=webhook.id).first()
        if locked is not None:
            locked.delete()


@dataclass(frozen=True)
class RotatedSecret:
    webhook: Webhook
    secret: str
    previous_secret_expires_at: datetime


def webhook_rotate_secret(*, webhook: Webhook) -> RotatedSecret:
    """Issue a new secret; the current one keeps signing alongside it for the rotation window
    (WEBHOOK_SECRET_ROTATION_SECONDS) so receivers can switch without dropping events. A second
    rotation inside the window retires the oldest secret at once: at most two secrets sign."""
    expires_at = timezone.now() + timedelta(seconds=settings.WEBHOOK_SECRET_ROTATION_SECONDS)
    webhook.previous_secret = webhook.secret
    webhook.previous_secret_expires_at = expires_at
    webhook.secret = new_webhook_secret()
    webhook.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return RotatedSecret(webhook=webhook, secret=webhook.secret, previous_secret_expires_at=expires_at)


def webhook_apply(*, customer: Customer, webhook_id: Any, traffic_account_id: Any) -> bool:
    """Send the account's events to the webhook. Idempotent; returns whether it was new."""
    webhook = webhook_get(customer=customer, webhook_id=webhook_id)
    account = traffic_account_get(customer=customer, traffic_account_id=traffic_account_id)
    # get_or_create survives a concurrent apply: it catches the unique violation and reads the row.
    _, created = WebhookTrafficAccount.objects.get_or_create(webhook=webhook, traffic_account=account)
    return created


def webhook_unapply(*, customer: Customer, webhook_id: Any, traffic_account_id: Any) -> bool:
    """Stop sending the account's events to the webhook. Returns whether a mapping existed."""
    webhook = webhook_get(customer=customer, webhook_id=webhook_id)
    account = traffic_account_get(customer=customer, traffic_account_id=traffic_account_id)
    deleted, _ = WebhookTrafficAccount.objects.filter(webhook=webhook, traffic_account=account).delete()
    return deleted > 0
