"""The customer and traffic account admins, extended with what operators do to an account's
messages and provider: deactivation cancels pending messages (the kill switch), and actions
register the provider webhook and sync WhatsApp templates.

``accounts_app`` registers the plain admins; they are re-registered here because this app sits
above it (``accounts_app`` imports nothing of ours, see the import contract in pyproject.toml).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts_app.admin import CustomerAdmin, TrafficAccountAdmin, deactivated_by
from accounts_app.models import Customer, TrafficAccount
from channels_app.callbacks.addresses import callback_url
from channels_app.callbacks.registration import WebhookNotManaged, provider_webhook_set
from channels_app.providers.base import SendError
from channels_app.services.deactivation import customer_deactivate, traffic_account_deactivate
from channels_app.templates_admin import sync_account_templates


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


class OperatedCustomerAdmin(CustomerAdmin):
    def save_model(self, request: HttpRequest, obj: Customer, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if deactivated_by(form, obj, change):
            summary = customer_deactivate(customer=obj)
            self.message_user(request, f"{obj}: deactivated, {summary.cancelled} pending messages cancelled.")


class OperatedTrafficAccountAdmin(TrafficAccountAdmin):
    actions = [register_provider_webhook, sync_account_templates]

    def save_model(self, request: HttpRequest, obj: TrafficAccount, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if deactivated_by(form, obj, change):
            summary = traffic_account_deactivate(account=obj)
            self.message_user(request, f"{obj}: deactivated, {summary.cancelled} pending messages cancelled.")


for model, model_admin in ((Customer, OperatedCustomerAdmin), (TrafficAccount, OperatedTrafficAccountAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
