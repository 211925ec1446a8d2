"""Conversations, messages and their status history; WhatsApp templates."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts_app.models import Customer, TrafficAccount
from channels_app.status import Status
from gateway.channels import CHANNEL_CHOICES


class Conversation(models.Model):
    """The thread between a traffic account's agent and one user on that channel."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by conversation_per_user, which leads with it: a second index only slows inserts.
    traffic_account = models.ForeignKey(
        TrafficAccount, on_delete=models.CASCADE, related_name="conversations", db_index=False
    )
    user_identifier = models.CharField(max_length=128)
    user_reachable = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["traffic_account", "user_identifier"], name="conversation_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.traffic_account_id} <-> {self.user_identifier}"


class Participant(models.Model):
    AGENT = "agent"
    USER = "user"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by one_participant_per_role, which leads with it.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants", db_index=False
    )
    role = models.CharField(max_length=8, choices=[(AGENT, "Agent"), (USER, "User")])
    name = models.CharField(max_length=200, blank=True)
    phone_number = models.CharField(max_length=32, blank=True)
    messaging_app_identifier = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["role"]  # agent first, as the Chat API lists participants
        constraints = [models.UniqueConstraint(fields=["conversation", "role"], name="one_participant_per_role")]

    def __str__(self) -> str:
        return f"{self.role}: {self.phone_number or self.messaging_app_identifier}"


class Message(models.Model):
    OUTBOUND = "outbound"
    INBOUND = "inbound"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Denormalised owner: every API query filters on it first. Indexed by msg_customer_time,
    # which leads with it: every index is written on each insert and on most status changes.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    traffic_account = models.ForeignKey(TrafficAccount, on_delete=models.CASCADE, related_name="messages")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    direction = models.CharField(max_length=8, choices=[(OUTBOUND, "Outbound"), (INBOUND, "Inbound")])
    destination = models.CharField(max_length=128)
    content = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.CHOICES)
    provider_message_id = models.CharField(max_length=191, blank=True, default="")
    bulk_id = models.UUIDField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_text = models.TextField(blank=True, default="")
    sms_encoding = models.CharField(max_length=8, blank=True, default="")
    sms_segments = models.PositiveSmallIntegerField(null=True, blank=True)
    # What the provider's reports said the message cost and which network took it
    # (``{"price": "6.00", "network": "26201"}``), so a team can add up what a campaign cost.
    billing = models.JSONField(null=True, blank=True)
    # Accepted with ``"test": true`` (or by a traffic account in test mode): dispatch simulates
    # the provider instead of calling it (``channels_app.services.test_mode``).
    is_test = models.BooleanField(default=False)
    # The customer's own tag and key-values (channels_app.services.customer_metadata bounds them),
    # answered in lookups and webhooks; never sent to a provider.
    reference = models.CharField(max_length=100, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)

    # Failover chain: every hop points at the chain's first message; position orders the hops.
    failover_chain = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="failover_hops"
    )
    failover_position = models.PositiveSmallIntegerField(null=True, blank=True)
    failover_wanted_status = models.CharField(max_length=16, blank=True, default="")
    failover_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    # When set, the sweeper checks this hop at that time and triggers the next one if needed.
    failover_deadline = models.DateTimeField(null=True, blank=True)

    # Dispatch bookkeeping (the Message row is the outbox).
    attempts = models.PositiveSmallIntegerField(default=0)
    available_at = models.DateTimeField(null=True, blank=True)  # not sent before this
    queued_until = models.DateTimeField(null=True, blank=True)  # republish guard for the sweeper
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The worker that claimed it last (channels_app/services/worker_heartbeat.py): while the
    # message is Sending, the sweeper releases it as soon as that worker's heartbeat is gone.
    claimed_by = models.CharField(max_length=96, blank=True, default="")
    rate_slot_at = models.DateTimeField(null=True, blank=True)  # reserved throughput slot

    # Set by the accept path (one timestamp for a whole bulk), not at insert time: the purge,
    # statistics and date filters rely on it matching the moment the request was accepted.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    triggered_at = models.DateTimeField(null=True, blank=True)  # the Chat API's "Created" (docs/chat-api.md)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="msg_customer_time"),
            models.Index(
                fields=["traffic_account", "provider_message_id"],
                name="msg_provider_id",
                condition=~Q(provider_message_id=""),
            ),
            models.Index(fields=["bulk_id"], name="msg_bulk", condition=Q(bulk_id__isnull=False)),
            models.Index(fields=["available_at"], name="msg_ready_due", condition=Q(status=Status.READY)),
            # Not conditioned on status, unlike msg_ready_due: an index whose predicate is
            # `status = 'Sending'` is what the planner picks for `id = %s AND status = 'Sending'`
            # whenever its statistics undercount Sending rows (any burst), and it then scans every
            # in-flight message per update. No index here can be matched by a status equality, so
            # updates by id always go by primary key. The sweeper keeps claimed_at NULL outside Sending.
            models.Index(fields=["claimed_at"], name="msg_claim_lease", condition=Q(claimed_at__isnull=False)),
            models.Index(
                fields=["failover_deadline"],
                name="msg_failover_due",
                condition=Q(failover_deadline__isnull=False),
            ),
            models.Index(fields=["created_at"], name="msg_untriggered", condition=Q(triggered_at__isnull=True)),
            # The reference filter of lookups and statistics; untagged messages stay out of it.
            models.Index(
                fields=["customer", "reference", "-created_at"], name="msg_reference", condition=~Q(reference="")
            ),
        ]
        constraints = [
            # A provider retries inbound webhooks: the same inbound message is stored once.
            models.UniqueConstraint(
                fields=["traffic_account", "provider_message_id"],
                condition=Q(direction="inbound") & ~Q(provider_message_id=""),
                name="inbound_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.channel} {self.status}"


class MessageEvent(models.Model):
    """One real status change of a message; the history the API shows."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by event_message_time, which leads with it.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events", db_index=False)
    status = models.CharField(max_length=16, choices=Status.CHOICES)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=16, default="gateway")  # api, dispatch, provider, failover
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "status change"
        # Arrival order: providers stamp whole seconds, so their times can sort before ours.
        ordering = ["id"]
        indexes = [models.Index(fields=["message", "occurred_at"], name="event_message_time")]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class DispatchAttempt(models.Model):
    """Every call to a provider, secrets redacted, so an operator sees why a message failed."""

    id = models.BigAutoField(primary_key=True)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempts_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(default=0)
    outcome = models.CharField(max_length=16)  # sent, throttled, unavailable, rejected, config
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "provider attempt"
        ordering = ["message", "number"]

    def __str__(self) -> str:
        return f"{self.message_id} attempt {self.number}: {self.outcome}"


class WhatsAppTemplate(models.Model):
    APPROVED = "APPROVED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    traffic_account = models.ForeignKey(TrafficAccount, on_delete=models.CASCADE, related_name="whatsapp_templates")
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(
        max_length=16,
        choices=[("MARKETING", "Marketing"), ("UTILITY", "Utility"), ("AUTHENTICATION", "Authentication")],
    )
    components = models.JSONField(default=list)
    status = models.CharField(max_length=16, default="PENDING")
    provider_template_id = models.CharField(max_length=64, blank=True, default="")
    rejected_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "WhatsApp template"
        verbose_name_plural = "WhatsApp templates"
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["traffic_account", "name", "language"], name="template_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.language}] {self.status}"


class IdempotencyRecord(models.Model):
    """What a send answered for a client's ``Idempotency-Key``, so a retried request is answered
    the same way instead of sending again. Kept for IDEMPOTENCY_KEY_TTL_HOURS."""

    id = models.BigAutoField(primary_key=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)  # null while in progress
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "idempotency record"
        constraints = [models.UniqueConstraint(fields=["customer", "key"], name="idempotency_key_per_customer")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.key}"


class ReportInbox(models.Model):
    """A delivery report acknowledged to its provider but not applied yet.

    The callback view verifies and parses the report, writes it here in one statement and answers
    200 once that has committed; ``channels_app.services.report_drain`` applies these rows in
    batches and deletes them. A row still here is a report the provider will not send again, so
    nothing but the drain removes one. A report that keeps failing to apply stays, ``parked_at``
    set, for an operator (README "Failure behaviour").
    """

    id = models.BigAutoField(primary_key=True)
    # No foreign keys: the insert itself selects the message and its account, and a message
    # purged before its report is applied only makes the report a no-op.
    traffic_account_id = models.UUIDField()
    message_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=Status.CHOICES)
    provider_message_id = models.CharField(max_length=191, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_text = models.TextField(blank=True, default="")
    billing = models.JSONField(default=dict, blank=True)
    raw = models.JSONField(default=dict, blank=True)  # bounded by services.reports.raw_detail
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)  # failed applications so far
    last_error = models.TextField(blank=True, default="")
    parked_at = models.DateTimeField(null=True, blank=True)  # given up on; kept for an operator

    class Meta:
        verbose_name = "unapplied delivery report"

    def __str__(self) -> str:
        return f"{self.message_id} {self.status} received {self.received_at:%Y-%m-%d %H:%M:%S}"
