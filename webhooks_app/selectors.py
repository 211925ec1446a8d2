"""Reads of webhooks and their deliveries, always scoped to the authenticated customer."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, QuerySet
from rest_framework import exceptions

from accounts_app.models import Customer, TrafficAccount
from webhooks_app.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookTrafficAccount
from webhooks_app.queries import subscribed_webhook_ids


def _uuid_or_404(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise exceptions.NotFound(f"{what} {value} does not exist.") from None


def webhook_list(*, customer: Customer) -> QuerySet[Webhook]:
    mappings = WebhookTrafficAccount.objects.only("webhook_id", "traffic_account_id").order_by("created_at", "id")
    return (
        Webhook.objects.filter(customer=customer)
        .prefetch_related(Prefetch("webhooktrafficaccount_set", queryset=mappings))
        .order_by("created_at", "id")
    )


def webhook_get(*, customer: Customer, webhook_id: Any) -> Webhook:
    """A customer's webhook; another customer's id is 404, never 403, so ids do not leak."""
    webhook = webhook_list(customer=customer).filter(id=_uuid_or_404(webhook_id, "Webhook")).first()
    if webhook is None:
        raise exceptions.NotFound(f"Webhook {webhook_id} does not exist.")
    return webhook


def traffic_account_get(*, customer: Customer, traffic_account_id: Any) -> TrafficAccount:
    account_id = _uuid_or_404(traffic_account_id, "Traffic account")
    account = TrafficAccount.objects.filter(customer=customer, id=account_id).only("id", "customer_id").first()
    if account is None:
        raise exceptions.NotFound(f"Traffic account {traffic_account_id} does not exist.")
    return account


def delivery_list(*, webhook: Webhook, status: str | None = None) -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.filter(webhook=webhook).prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("attempted_at", "id"))
    )
    if status:
        deliveries = deliveries.filter(status=status.lower())
    return deliveries


def delivery_get(*, webhook: Webhook, delivery_id: Any) -> WebhookDelivery:
    delivery = delivery_list(webhook=webhook).filter(id=_uuid_or_404(delivery_id, "Delivery")).first()
    if delivery is None:
        raise exceptions.NotFound(f"Delivery {delivery_id} does not exist for webhook {webhook.id}.")
    return delivery


def webhook_ids_for_event(*, traffic_account_id: uuid.UUID, trigger: str) -> list[uuid.UUID]:
    """The active webhooks applied to the account that subscribe to ``trigger``, in one query
    starting from the indexed mapping column.

    ``FOR KEY SHARE`` keeps each webhook from being deleted until the caller's transaction ends
    (the delivery rows' foreign keys would take the same lock a moment later anyway). Without it
    a webhook deleted in between would make the delivery insert, and with it the status change
    that caused the event, fail. It does not block edits of the webhook or other fan-outs.
    """
    return subscribed_webhook_ids(traffic_account_id=traffic_account_id, trigger=trigger)
