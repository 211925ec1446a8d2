"""Operator views of customer webhooks, where they apply, and every delivery attempt."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from webhooks_app.admin_actions import redeliver_webhook_deliveries
from webhooks_app.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookTrafficAccount


class WebhookTrafficAccountInline(admin.TabularInline):
    model = WebhookTrafficAccount
    extra = 0
    autocomplete_fields = ["traffic_account"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "url", "triggers", "is_active", "created_at"]
    list_filter = ["is_active", "customer"]
    search_fields = ["name", "url", "customer__email"]
    list_select_related = ["customer"]
    exclude = ["secret", "previous_secret"]
    readonly_fields = ["id", "previous_secret_expires_at", "created_at", "updated_at"]
    inlines = [WebhookTrafficAccountInline]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("attempted_at", "status_code", "latency_ms", "reason", "error", "response_excerpt")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "webhook", "event_type", "status", "attempts", "created_at", "last_attempt_at"]
    list_filter = ["status", "event_type", "created_at", "webhook__customer", "webhook"]
    search_fields = ["=id", "=message_id", "webhook__name"]
    search_help_text = "Event id, message id or webhook name."
    list_select_related = ["webhook"]
    actions = [redeliver_webhook_deliveries]
    show_full_result_count = False
    readonly_fields = ["id", "webhook", "event_type", "message_id", "payload", "status", "attempts",
                       "next_attempt_at", "queued_until", "created_at", "last_attempt_at"]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks_app.change_webhookdelivery")
