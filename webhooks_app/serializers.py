"""Webhook API shapes (camelCase, as the Chat API writes them): input validation and output."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from gateway.url_safety import (
    PUBLIC_REFUSAL,
    WebhookHostUnresolvable,
    WebhookUrlRefused,
    address_policy,
    url_check,
    url_parts,
)
from webhooks_app.models import TRIGGERS, Webhook, WebhookAttempt, WebhookDelivery

_CANONICAL_TRIGGER = {trigger.lower(): trigger for trigger in TRIGGERS}


class WebhookWriteSerializer(serializers.Serializer):
    """POST needs ``url`` and ``triggers`` (the guide's example has nothing else); ``name`` is an
    optional label. PUT (``partial=True``) replaces the fields it is given."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    url = serializers.CharField(max_length=2000)
    triggers = serializers.ListField(child=serializers.CharField(max_length=32), allow_empty=False, max_length=16)
    isActive = serializers.BooleanField(required=False, default=True)

    def validate_url(self, value: str) -> str:
        """Static rules explain themselves; an address refusal says only what kind of address
        is refused, never which address a host resolved to (no probing of internal DNS)."""
        try:
            url_parts(value)
        except WebhookUrlRefused as exc:
            raise serializers.ValidationError(str(exc)) from None
        customer = self.context.get("customer")
        allowed = getattr(customer, "webhook_allowed_networks", None) or ()
        try:
            url_check(value, address_policy(allowed))
        except WebhookUrlRefused:
            raise serializers.ValidationError(PUBLIC_REFUSAL) from None
        except WebhookHostUnresolvable:
            raise serializers.ValidationError("The URL's host does not resolve.") from None
        return value

    def validate_triggers(self, value: list[str]) -> list[str]:
        """Case-insensitive in, canonical spelling and order out, duplicates dropped."""
        unknown = [item for item in value if item.strip().lower() not in _CANONICAL_TRIGGER]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown trigger(s): {', '.join(unknown)}. Use any of {', '.join(TRIGGERS)}."
            )
        wanted = {_CANONICAL_TRIGGER[item.strip().lower()] for item in value}
        return [trigger for trigger in TRIGGERS if trigger in wanted]

    def service_fields(self) -> dict[str, Any]:
        """The validated input under the model's field names."""
        names = {"name": "name", "url": "url", "triggers": "triggers", "isActive": "is_active"}
        return {names[key]: value for key, value in self.validated_data.items()}


class WebhookSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    url = serializers.CharField()
    triggers = serializers.ListField(child=serializers.ChoiceField(choices=TRIGGERS))
    isActive = serializers.BooleanField(source="is_active")
    trafficAccountIds = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_trafficAccountIds(self, webhook: Webhook) -> list[str]:
        return [str(m.traffic_account_id) for m in webhook.webhooktrafficaccount_set.all()]


class WebhookWithSecretSerializer(WebhookSerializer):
    """Only the create and rotate responses show the secret; nothing reads it back later."""

    secret = serializers.CharField()


class RotatedSecretSerializer(WebhookWithSecretSerializer):
    previousSecretExpiresAt = serializers.DateTimeField(source="previous_secret_expires_at")


class WebhookMappingSerializer(serializers.Serializer):
    webhookId = serializers.UUIDField()
    trafficAccountId = serializers.UUIDField()


class WebhookAttemptSerializer(serializers.Serializer):
    """What a customer sees of an attempt: the status and a generic reason. The receiver's body,
    headers and the network detail stay in the operators' admin (no response oracle)."""

    attemptedAt = serializers.DateTimeField(source="attempted_at")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    latencyMs = serializers.FloatField(source="latency_ms")
    error = serializers.SerializerMethodField()

    def get_error(self, attempt: WebhookAttempt) -> str:
        if attempt.reason in WebhookAttempt.PUBLIC_REASONS:
            return WebhookAttempt.PUBLIC_REASONS[attempt.reason]
        return "The attempt failed." if attempt.error else ""


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    eventId = serializers.UUIDField(source="id", help_text="Sent as the webhook-id header; kept on redelivery.")
    eventType = serializers.CharField(source="event_type")
    messageId = serializers.UUIDField(source="message_id", allow_null=True)
    status = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    lastAttemptAt = serializers.DateTimeField(source="last_attempt_at", allow_null=True)
    nextAttemptAt = serializers.SerializerMethodField()
    payload = serializers.JSONField()
    attempts = WebhookAttemptSerializer(source="attempt_log", many=True)

    def get_status(self, delivery: WebhookDelivery) -> str:
        return delivery.status.capitalize()

    def get_nextAttemptAt(self, delivery: WebhookDelivery) -> str | None:
        if delivery.status != WebhookDelivery.PENDING or delivery.next_attempt_at is None:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)
