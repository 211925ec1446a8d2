"""Admin actions on traffic accounts (wired into ``TrafficAccountAdmin.actions`` in admin.py)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts_app.models import TrafficAccount
from channels_app.adapters.base import SendError
from webhooks_app.callbacks.addresses import callback_url
from webhooks_app.callbacks.registration import WebhookNotManaged, provider_webhook_set


@admin.action(description="Register provider webhook", permissions=["change"])
def register_provider_webhook(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[TrafficAccount]
) -> None:
    """Point each selected Telegram or Viber account's bot at our callback URL; for the other
    channels the message says what to configure at the provider instead."""
    for account in queryset:
        try:
            provider_webhook_set(account=account)
        except WebhookNotManaged as refusal:
            modeladmin.message_user(request, f"{account}: {refusal}", messages.WARNING)
        except SendError as error:
            modeladmin.message_user(
                request, f"{account}: the provider refused ({error.code}): {error.text}", messages.ERROR
            )
        else:
            modeladmin.message_user(request, f"{account}: webhook set to {callback_url(account)}", messages.SUCCESS)
