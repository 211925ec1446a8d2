"""Operator views of messages (read-only, with their history and provider attempts) and templates."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from channels_app import accounts_admin  # noqa: F401 - re-registers the account admins with their operations
from channels_app.admin_actions import requeue_failed_messages
from channels_app.models import DispatchAttempt, Message, MessageEvent, ReportInbox, WhatsAppTemplate
from channels_app.templates_admin import sync_selected_templates

# The admin index links the delivery dashboard (channels_app/dashboard/, routed in gateway/urls.py).
admin.site.index_template = "admin/gateway_index.html"
admin.site.site_header = admin.site.site_title = "Messaging gateway operations"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MessageEventInline(ReadOnlyInline):
    model = MessageEvent
    fields = readonly_fields = ("occurred_at", "status", "source", "detail")


class DispatchAttemptInline(ReadOnlyInline):
    model = DispatchAttempt
    fields = readonly_fields = (
        "number", "started_at", "outcome", "http_status", "duration_ms", "error", "request", "response"
    )
    verbose_name = "provider attempt"


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "channel",
        "direction",
        "destination",
        "status",
        "error_code",
        "traffic_account",
    ]
    list_filter = ["status", "channel", "direction", "created_at", "customer", "traffic_account"]
    search_fields = ["destination", "provider_message_id", "=id", "=bulk_id"]
    search_help_text = "Destination (or part of it), provider message id, message id or bulk id."
    date_hierarchy = "created_at"
    list_select_related = ["traffic_account"]
    inlines = [MessageEventInline, DispatchAttemptInline]
    actions = [requeue_failed_messages]
    show_full_result_count = False  # counting millions of rows on every page view is too slow

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        """Requeueing writes, so it needs the change permission, which the read-only
        ``has_change_permission`` below only grants for GET."""
        return request.user.has_perm("channels_app.change_message")

    def get_readonly_fields(self, request: HttpRequest, obj: Message | None = None) -> list[str]:
        return [field.name for field in Message._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)


@admin.register(ReportInbox)
class ReportInboxAdmin(admin.ModelAdmin):
    """Delivery reports acknowledged but not applied yet; a parked one failed to apply
    ``REPORT_INBOX_MAX_ATTEMPTS`` times and waits here for an operator (its error is kept)."""

    list_display = ["id", "received_at", "message_id", "status", "attempts", "parked_at", "last_error"]
    list_filter = [("parked_at", admin.EmptyFieldListFilter), "status"]
    search_fields = ["=message_id", "=traffic_account_id"]
    search_help_text = "Message id or traffic account id."
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: ReportInbox | None = None) -> list[str]:
        return [field.name for field in ReportInbox._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReportInbox | None = None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ReportInbox | None = None) -> bool:
        return False  # only the drain removes a report: it is the provider's only copy


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "category", "status", "traffic_account", "updated_at"]
    list_filter = ["status", "category", "language", "traffic_account"]
    search_fields = ["name", "traffic_account__name"]
    list_select_related = ["traffic_account"]
    readonly_fields = ["id", "provider_template_id", "created_at", "updated_at"]
    actions = [sync_selected_templates]
