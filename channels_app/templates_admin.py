"""Admin actions that refresh WhatsApp templates from Meta, for operators.

Kept out of ``channels_app/admin.py`` so the admin classes only need to list the actions:
``WhatsAppTemplateAdmin.actions = [sync_selected_templates]`` and, on the traffic account admin,
``actions = [sync_account_templates]``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts_app.models import TrafficAccount
from channels_app.models import WhatsAppTemplate
from channels_app.services.templates import template_sync
from gateway.channels import Channel
from gateway.problems import ProblemException


def sync_accounts(modeladmin: admin.ModelAdmin, request: HttpRequest, accounts: Iterable[TrafficAccount]) -> None:
    """Sync each account, reporting per account so one failing account does not hide the others."""
    for account in accounts:
        try:
            result = template_sync(account=account)
        except ProblemException as exc:
            modeladmin.message_user(request, f"{account}: {exc.detail}", level=messages.ERROR)
            continue
        modeladmin.message_user(
            request,
            f"{account}: {result.created} new, {result.updated} updated, {result.removed} removed.",
            level=messages.SUCCESS,
        )


@admin.action(description="Sync templates of the selected templates' accounts from Meta")
def sync_selected_templates(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[WhatsAppTemplate]
) -> None:
    account_ids = queryset.values_list("traffic_account_id", flat=True).distinct()
    sync_accounts(modeladmin, request, TrafficAccount.objects.filter(id__in=account_ids))


@admin.action(description="Sync WhatsApp templates from Meta")
def sync_account_templates(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[TrafficAccount]
) -> None:
    whatsapp = queryset.filter(channel=Channel.WHATSAPP)
    skipped = queryset.exclude(channel=Channel.WHATSAPP).count()
    if skipped:
        modeladmin.message_user(
            request, f"{skipped} selected account(s) are not WhatsApp accounts and were skipped.", messages.WARNING
        )
    sync_accounts(modeladmin, request, whatsapp)
