"""Operator admin for customers and traffic accounts. Credentials are write-only here.

What an operator does to an account's messages and provider (the kill switch on deactivation,
registering the provider webhook, syncing templates) belongs to ``channels_app``, which extends
these admins in ``channels_app/accounts_admin.py``: this app depends on none of ours."""

from __future__ import annotations

from functools import cache
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from accounts_app.models import Customer, TrafficAccount
from gateway.channels import channel_credential_keys


def deactivated_by(form: forms.ModelForm, obj: Customer | TrafficAccount, change: bool) -> bool:
    """Whether this save switched the object off (the kill switch then cancels its pending messages)."""
    return change and "is_active" in form.changed_data and not obj.is_active


def all_credential_keys() -> list[str]:
    """Every channel's credential keys (declared by the provider packages, registered at start-up,
    hence read when a form is built, not when this module is imported by admin autodiscovery)."""
    return sorted({key for keys in channel_credential_keys().values() for key in keys})


@admin.register(Customer)
class CustomerAdmin(UserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "date_joined"]
    search_fields = ["email", "name"]
    list_filter = ["is_active", "is_staff"]
    readonly_fields = ["date_joined", "last_login", "token_version"]
    fieldsets = [
        (None, {"fields": ["email", "password", "name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Limits", {"fields": ["api_rate_per_second", "webhook_allowed_networks"]}),
        ("Activity", {"fields": ["date_joined", "last_login", "token_version"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


def _credential_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for key in all_credential_keys():
        channels = [c for c, keys in channel_credential_keys().items() if key in keys]
        fields[f"credential_{key}"] = forms.CharField(
            required=False,
            label=f"Credential: {key}",
            widget=forms.PasswordInput(render_value=False),
            help_text=f"For {', '.join(channels)} accounts. Leave blank to keep the stored value.",
        )
    fields["clear_credentials"] = forms.BooleanField(
        required=False, help_text="Remove every stored credential before applying the inputs above."
    )
    return fields


class TrafficAccountForm(forms.ModelForm):
    """One password-style input per credential key (added by ``traffic_account_form``): values
    are never sent back to the browser, and a blank input keeps what is stored."""

    class Meta:
        model = TrafficAccount
        fields = [
            "customer", "name", "channel", "is_active", "test_mode", "sender", "display_name",
            "phone_number", "base_url", "throughput_per_second", "viber_kind",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean returns cleaned_data
        credentials = {} if cleaned.get("clear_credentials") else dict(self.instance.credentials or {})
        for key in all_credential_keys():
            value = cleaned.get(f"credential_{key}")
            if value:
                credentials[key] = value
        allowed = set(channel_credential_keys().get(cleaned.get("channel", ""), ()))
        unknown = sorted(set(credentials) - allowed)
        if unknown:
            raise forms.ValidationError(
                f"These credentials do not belong to a {cleaned.get('channel')} account: {', '.join(unknown)}."
            )
        self.instance.credentials = credentials
        return cleaned


@cache
def traffic_account_form() -> type[TrafficAccountForm]:
    """The form with its credential inputs, built on first use: the keys are known only once
    channels_app has registered them, after admin autodiscovery imported this module."""
    return type("TrafficAccountForm", (TrafficAccountForm,), _credential_fields())


@admin.register(TrafficAccount)
class TrafficAccountAdmin(admin.ModelAdmin):
    form = TrafficAccountForm
    list_display = ["name", "customer", "channel", "is_active", "test_mode", "throughput_per_second", "credentials_set"]
    list_filter = ["channel", "is_active", "test_mode", "customer"]
    search_fields = ["name", "customer__email", "=id"]
    list_select_related = ["customer"]
    readonly_fields = ["id", "created_at", "updated_at", "credentials_set"]
    autocomplete_fields = ["customer"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs.setdefault("form", traffic_account_form())
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="Credentials (masked)")
    def credentials_set(self, obj: TrafficAccount) -> str:
        keys = sorted((obj.credentials or {}).keys())
        return ", ".join(f"{key}=••••" for key in keys) or "none"

    def get_fieldsets(self, request: HttpRequest, obj: TrafficAccount | None = None) -> list:
        credential_fields = [f"credential_{key}" for key in all_credential_keys()] + ["clear_credentials"]
        return [
            (None, {"fields": ["id", "customer", "name", "channel", "is_active", "test_mode"]}),
            ("Sender identity", {"fields": ["sender", "display_name", "phone_number"]}),
            ("Provider", {"fields": ["base_url", "throughput_per_second", "viber_kind", "credentials_set"]}),
            ("Credentials (write-only)", {"fields": credential_fields}),
            ("Timestamps", {"fields": ["created_at", "updated_at"]}),
        ]
