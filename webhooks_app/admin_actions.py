"""Admin actions on customer webhook deliveries (wired into ``WebhookDeliveryAdmin.actions``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from gateway.problems import ProblemException
from webhooks_app.models import WebhookDelivery
from webhooks_app.services.delivery import delivery_redeliver

MAX_REDELIVER_PER_ACTION = 1000


@admin.action(description="Redeliver selected webhook deliveries (same event id)", permissions=["redeliver"])
def redeliver_webhook_deliveries(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[WebhookDelivery]
) -> None:
    """The same service as ``POST .../deliveries/{id}/redeliver``: a settled delivery goes out
    again with a fresh retry budget; a pending one or an inactive webhook is reported, not forced."""
    selected = list(queryset.select_related("webhook")[: MAX_REDELIVER_PER_ACTION + 1])
    if len(selected) > MAX_REDELIVER_PER_ACTION:
        modeladmin.message_user(
            request, f"Select at most {MAX_REDELIVER_PER_ACTION} deliveries per redelivery.", messages.ERROR
        )
        return
    redelivered = 0
    for delivery in selected:
        try:
            delivery_redeliver(delivery=delivery)
        except ProblemException as refusal:
            modeladmin.message_user(request, f"{delivery.id}: {refusal.detail}", messages.WARNING)
        else:
            redelivered += 1
    if redelivered:
        modeladmin.message_user(request, f"{redelivered} delivery(ies) queued again.", messages.SUCCESS)
