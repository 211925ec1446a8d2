"""Customer webhook subscriptions, their traffic-account mapping, and outbound event delivery."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from accounts_app.models import Customer, TrafficAccount
from gateway.encryption import EncryptedTextField

TRIGGERS = ("Delivered", "Failed", "Read", "UserMessage")


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Webhook(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=2000)
    triggers = ArrayField(models.CharField(max_length=16, choices=[(t, t) for t in TRIGGERS]), default=list)
    # Encrypted at rest (FIELD_ENCRYPTION_KEYS). During a rotation both secrets sign, so
    # receivers can switch without losing events.
    secret = EncryptedTextField(default=new_webhook_secret)
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    traffic_accounts: models.ManyToManyField[TrafficAccount, WebhookTrafficAccount] = models.ManyToManyField(
        TrafficAccount, through="WebhookTrafficAccount", related_name="webhooks", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} -> {self.url}"


class WebhookTrafficAccount(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE)
    traffic_account = models.ForeignKey(TrafficAccount, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "traffic account of a webhook"
        verbose_name_plural = "traffic accounts of webhooks"
        constraints = [
            models.UniqueConstraint(fields=["webhook", "traffic_account"], name="webhook_applied_once")
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} -> {self.traffic_account_id}"

    def clean(self) -> None:
        """A customer's events go only to that customer's webhooks (the admin validates this;
        the API looks both up within the customer, and the fan-out query checks it again)."""
        if self.webhook_id and self.traffic_account_id:
            webhook_owner = Webhook.objects.filter(id=self.webhook_id).values_list("customer_id", flat=True).first()
            account_owner = (
                TrafficAccount.objects.filter(id=self.traffic_account_id).values_list("customer_id", flat=True).first()
            )
            if webhook_owner != account_owner:
                raise ValidationError(
                    {"traffic_account": "The traffic account belongs to another customer than the webhook."}
                )


class WebhookDelivery(models.Model):
    """One event for one webhook: the outbox row the delivery task works from."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # the event id
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=16)
    message_id = models.UUIDField(null=True, blank=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, default=PENDING, choices=[(PENDING, PENDING), (SUCCEEDED, SUCCEEDED), (FAILED, FAILED)]
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due", condition=Q(status="pending")),
            models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of an event. ``error`` and ``response_excerpt`` are for operators (admin);
    customers see ``status_code`` and the generic sentence of ``reason``."""

    REASON_OK = "ok"
    REASON_HTTP_ERROR = "http_error"
    REASON_REDIRECT = "redirect"
    REASON_TIMEOUT = "timeout"
    REASON_CONNECTION = "connection"
    REASON_URL_REFUSED = "url_refused"
    REASON_UNRESOLVABLE = "unresolvable"
    REASON_INACTIVE = "inactive"
    PUBLIC_REASONS: ClassVar[dict[str, str]] = {
        REASON_OK: "",
        REASON_HTTP_ERROR: "The receiver answered with an error status.",
        REASON_REDIRECT: "The receiver answered with a redirect; redirects are not followed.",
        REASON_TIMEOUT: "The receiver did not answer in time.",
        REASON_CONNECTION: "The gateway could not connect to the receiver.",
        REASON_URL_REFUSED: "The URL is not allowed: its host resolves to an address the gateway does not call.",
        REASON_UNRESOLVABLE: "The URL's host did not resolve.",
        REASON_INACTIVE: "The webhook is inactive; the event was not sent.",
    }

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(default=0)
    error = models.TextField(blank=True, default="")
    reason = models.CharField(max_length=16, blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["attempted_at", "id"]
        indexes = [models.Index(fields=["attempted_at"], name="attempt_time")]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%H:%M:%S}: {self.status_code or self.error}"
