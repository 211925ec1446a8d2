"""Admin actions on messages (wired into ``MessageAdmin.actions`` in admin.py)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from channels_app.models import Message
from channels_app.services.requeue import messages_requeue

# One click must not reopen a whole incident's worth of messages by accident.
MAX_REQUEUE_PER_ACTION = 1000


@admin.action(description="Requeue selected Failed messages (dispatch again)", permissions=["requeue"])
def requeue_failed_messages(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Message]) -> None:
    selected = list(queryset.order_by("created_at")[: MAX_REQUEUE_PER_ACTION + 1])
    if len(selected) > MAX_REQUEUE_PER_ACTION:
        modeladmin.message_user(
            request,
            f"Select at most {MAX_REQUEUE_PER_ACTION} messages per requeue (filter by status Failed first).",
            messages.ERROR,
        )
        return
    result = messages_requeue(messages=selected, operator=request.user.get_username())
    if result.requeued:
        modeladmin.message_user(
            request, f"{len(result.requeued)} message(s) requeued for dispatch.", messages.SUCCESS
        )
    for message_id, reason in result.refused.items():
        modeladmin.message_user(request, f"{message_id} was not requeued: {reason}.", messages.WARNING)
