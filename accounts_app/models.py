"""Customers (who log in to the Chat API) and their traffic accounts (one channel each)."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from gateway.channels import CHANNEL_CHOICES, channel_credential_keys
from gateway.encryption import EncryptedJSONField
from gateway.provider_urls import base_url_refusal


def validate_network(value: str) -> None:
    """A CIDR (``10.20.0.0/16``) or a single address."""
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a network in CIDR notation: {exc}") from None


class CustomerManager(BaseUserManager["Customer"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> Customer:
        if not email:
            raise ValueError("A customer needs an email address.")
        customer = self.model(email=self.normalize_email(email).lower(), **extra)
        customer.set_password(password)
        customer.save(using=self._db)
        return customer

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> Customer:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class Customer(AbstractBaseUser, PermissionsMixin):
    """A Chat API customer; the email is the login. Staff flags give Django admin access."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped on every password change; tokens carry the version they were issued under, so a
    # change revokes every older token without a token blacklist.
    token_version = models.PositiveIntegerField(default=0)
    # Private networks this customer's webhooks may reach (its own receivers). Set by staff in the
    # admin or with ``manage.py webhook_networks``; the API never exposes or changes it.
    webhook_allowed_networks = ArrayField(
        models.CharField(max_length=64, validators=[validate_network]),
        default=list,
        blank=True,
        help_text="CIDRs this customer's webhooks may reach beyond the public internet, e.g. 10.20.0.0/16.",
    )
    api_rate_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="API requests per second for this customer; empty uses API_RATE_PER_SECOND."
    )

    objects = CustomerManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def set_password(self, raw_password: str | None) -> None:
        """Every way a password is set (API change, admin reset, ``manage.py changepassword``)
        revokes the tokens issued before it; the caller's ``save()`` stores both."""
        super().set_password(raw_password)
        if not self._state.adding and isinstance(self.token_version, int):
            self.token_version += 1


# The channel labels (``CHANNEL_CHOICES``) are static in gateway.channels, as migrations copy them;
# the credential keys each channel accepts are declared by its provider package and read at run
# time through ``gateway.channels.channel_credential_keys`` (filled by channels_app at start-up).

VIBER_BOT = "bot"
VIBER_BUSINESS = "business"
VIBER_KIND_CHOICES = [
    (VIBER_BOT, "Viber bot (REST Bot API: Viber user ids)"),
    (VIBER_BUSINESS, "Viber Business Messages (phone numbers)"),
]


class TrafficAccount(models.Model):
    """A customer's route to one provider account on exactly one channel."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="traffic_accounts")
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    credentials = EncryptedJSONField(default=dict, blank=True)  # encrypted at rest (FIELD_ENCRYPTION_KEYS)
    sender = models.CharField(
        max_length=32, blank=True, help_text="Default SMS sender (numeric 1-16 or alphanumeric 1-11)."
    )
    display_name = models.CharField(max_length=200, blank=True, help_text="Name shown as the sender.")
    phone_number = models.CharField(max_length=32, blank=True, help_text="The agent's own number, if any.")
    base_url = models.URLField(
        blank=True, help_text="Provider base URL; empty uses the default for the channel."
    )
    throughput_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages per second across all workers; empty is unlimited."
    )
    test_mode = models.BooleanField(default=False)
    # Only for Viber: a bot addresses the Viber user ids its own webhook learned, a Business
    # Messages sender addresses phone numbers. Different wire formats, addresses and rules.
    viber_kind = models.CharField(
        max_length=8, choices=VIBER_KIND_CHOICES, default=VIBER_BOT,
        help_text="Viber only: bot (Viber user ids) or business (phone numbers).",
    )
    is_active = models.BooleanField(default=True)
    # Signed into every Mitto callback token of this account; bumping it (manage.py
    # revoke_callback_tokens) invalidates every outstanding DLR and two-way SMS URL at once.
    callback_token_generation = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer", "name"]
        indexes = [models.Index(fields=["customer", "channel"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel})"

    def clean(self) -> None:
        allowed = set(channel_credential_keys().get(self.channel, ()))
        unknown = sorted(set(self.credentials or {}) - allowed)
        if unknown:
            raise ValidationError(
                {"credentials": f"Unknown credential keys for {self.channel}: {', '.join(unknown)}. "
                 f"Allowed: {', '.join(sorted(allowed))}."}
            )
        if self.base_url and self.channel:
            refusal = base_url_refusal(self.channel, self.base_url)
            if refusal:
                raise ValidationError({"base_url": refusal})

    @property
    def resolved_base_url(self) -> str:
        return (self.base_url or settings.PROVIDER_BASE_URLS[self.channel]).rstrip("/")

    @property
    def agent_identifier(self) -> str:
        """How the agent appears to users: a phone number, or the channel's app identifier."""
        return self.phone_number or f"{self.channel}_agent"
