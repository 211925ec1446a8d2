"""The message endpoints' request and response shapes, for the OpenAPI document.

The views build their answers by hand (``channels_app.representations``, the bulk answer as text)
for speed; these serializers only describe those answers, field for field, so the document says
exactly what a client receives and which members are always there. Request bodies are JSON
Schemas written out, because a send names either ``trafficAccountId`` or a failover chain and its
channel objects are validated per channel by ``channels_app.content``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from channels_app.providers.registry import SPECS
from channels_app.services.customer_metadata import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_LENGTH,
    MAX_REFERENCE_LENGTH,
)
from channels_app.services.requests import MAX_FAILOVER_HOPS, MAX_FAILOVER_TIMEOUT_SECONDS
from channels_app.status import FAILOVER_WANTED, Status
from gateway.openapi import NO_NUL_PATTERN, case_insensitive_pattern

STATUSES = [status for status, _ in Status.CHOICES]
# The registered channels, in the registry's order (the document's enums keep that order).
CHANNELS = list(SPECS)


class ParticipantDoc(serializers.Serializer):
    id = serializers.UUIDField(required=False, help_text="Only the agent (the traffic account's side) has one.")
    phoneNumber = serializers.CharField(required=False)
    messagingAppIdentifier = serializers.CharField(required=False)
    name = serializers.CharField(required=False)


class ConversationDoc(serializers.Serializer):
    id = serializers.UUIDField()
    participants = ParticipantDoc(many=True)


class SmsPartsDoc(serializers.Serializer):
    encoding = serializers.CharField()
    segments = serializers.IntegerField(allow_null=True)


class MessageDoc(serializers.Serializer):
    messageId = serializers.UUIDField()
    id = serializers.UUIDField(help_text="The same as messageId.")
    sender = ParticipantDoc(allow_null=True)
    conversation = ConversationDoc()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    trafficAccountId = serializers.UUIDField()
    deliveryStatus = serializers.ChoiceField(STATUSES)
    channel = serializers.ChoiceField(CHANNELS)
    direction = serializers.ChoiceField(["outbound", "inbound"])
    destination = serializers.CharField(allow_blank=True)
    reference = serializers.CharField(allow_null=True, help_text="The customer's reference given on send.")
    metadata = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="Given on send.")
    bulkId = serializers.UUIDField(required=False)
    sms = SmsPartsDoc(required=False)

    class Meta:
        ref_name = "Message"


class HistoryEventDoc(serializers.Serializer):
    status = serializers.ChoiceField(STATUSES)
    occurredAt = serializers.DateTimeField()
    # The serializer metaclass moves declared fields off the class; Field.source (what the stubs
    # see) is untouched.
    source = serializers.CharField()  # type: ignore[assignment]
    detail = serializers.DictField(required=False)


class FailoverHopDoc(serializers.Serializer):
    position = serializers.IntegerField()
    messageId = serializers.UUIDField()
    trafficAccountId = serializers.UUIDField()
    channel = serializers.ChoiceField(CHANNELS)
    deliveryStatus = serializers.ChoiceField(STATUSES)
    triggeredAt = serializers.DateTimeField(allow_null=True)


class FailoverDoc(serializers.Serializer):
    chainId = serializers.UUIDField()
    wantedStatus = serializers.CharField()
    timeoutInSeconds = serializers.IntegerField(allow_null=True)
    outcome = serializers.ChoiceField(["Succeeded", "Failed", "Pending"])
    hops = FailoverHopDoc(many=True)


class MessageDetailDoc(MessageDoc):
    providerMessageId = serializers.CharField(allow_null=True)
    errorCode = serializers.CharField(allow_null=True)
    errorText = serializers.CharField(allow_null=True)
    content = serializers.JSONField()
    sentAt = serializers.DateTimeField(allow_null=True)
    deliveredAt = serializers.DateTimeField(allow_null=True)
    readAt = serializers.DateTimeField(allow_null=True)
    failedAt = serializers.DateTimeField(allow_null=True)
    history = HistoryEventDoc(many=True)
    failover = FailoverDoc(required=False)

    class Meta:
        ref_name = "MessageDetail"


class MessagePageDoc(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MessageDoc(many=True)

    class Meta:
        ref_name = "MessagePage"


# The message, or with failover the hops' ids in chain order (the Message component is the one
# MessagePage refers to).
SEND_RESPONSE = {
    "oneOf": [
        {"$ref": "#/components/schemas/Message"},
        {"type": "array", "items": {"type": "string", "format": "uuid"}, "minItems": 2},
    ]
}
LIST_RESPONSE = PolymorphicProxySerializer(
    component_name="MessageListOrMessage",
    serializers=[MessagePageDoc, MessageDetailDoc],
    resource_type_field_name=None,
)


class BulkEntryDoc(serializers.Serializer):
    destination = serializers.CharField(allow_blank=True)
    trafficAccountId = serializers.UUIDField()
    messageId = serializers.UUIDField()
    messageIds = serializers.ListField(child=serializers.UUIDField(), required=False)


class BulkSendDoc(serializers.Serializer):
    bulkId = serializers.UUIDField()
    messages = BulkEntryDoc(many=True)

    class Meta:
        ref_name = "BulkSendResponse"


class BulkProgressDoc(serializers.Serializer):
    bulkId = serializers.UUIDField()
    total = serializers.IntegerField(min_value=1)
    deliveryStatuses = serializers.DictField(child=serializers.IntegerField(min_value=1))

    class Meta:
        ref_name = "BulkProgress"


_UUID = {"type": "string", "format": "uuid"}
_CHANNEL_OBJECT = {
    "type": "object",
    "description": "The channel's content, as the guide shows it; validated per channel.",
    "additionalProperties": True,
}
_FAILOVER = {
    "type": "object",
    "required": ["type", "timeoutFailover"],
    "properties": {
        "type": {"type": "string", "enum": ["Timeout"]},
        "timeoutFailover": {
            "type": "object",
            "required": ["timeoutInSeconds", "trafficAccounts"],
            "properties": {
                "timeoutInSeconds": {"type": "integer", "minimum": 1, "maximum": MAX_FAILOVER_TIMEOUT_SECONDS},
                "status": {
                    "type": "string",
                    "description": "Case-insensitive; default Delivered.",
                    "pattern": case_insensitive_pattern(sorted(FAILOVER_WANTED)),
                },
                "trafficAccounts": {
                    "type": "array",
                    "items": _UUID,
                    "minItems": 1,
                    "maxItems": MAX_FAILOVER_HOPS,
                    "uniqueItems": True,
                },
            },
        },
    },
}
_TAGS = {
    "reference": {
        "type": "string",
        "maxLength": MAX_REFERENCE_LENGTH,
        "pattern": NO_NUL_PATTERN,
        "description": "Your own tag, returned in lookups and webhooks; a filter of lists and statistics.",
    },
    "metadata": {
        "type": "object",
        "maxProperties": MAX_METADATA_KEYS,
        "propertyNames": {"minLength": 1, "maxLength": MAX_METADATA_KEY_LENGTH, "pattern": NO_NUL_PATTERN},
        "additionalProperties": {"type": "string", "maxLength": MAX_METADATA_VALUE_LENGTH, "pattern": NO_NUL_PATTERN},
        "description": "Your own key-values (strings), returned in lookups and webhooks.",
    },
}


def _send_schema(destination: dict[str, Any], destination_name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": (
            "Name `trafficAccountId`, or a `failover` chain (or both: the account then leads the chain). One "
            "content object per channel used. Unknown top-level members are ignored."
        ),
        "properties": {
            "trafficAccountId": _UUID,
            destination_name: destination,
            **{channel: _CHANNEL_OBJECT for channel in CHANNELS},
            "failover": _FAILOVER,
            **_TAGS,
            "test": {
                "type": "boolean",
                "description": "True: the provider is never called; the message goes Sent then Delivered.",
            },
        },
        "required": [destination_name],
        "anyOf": [{"required": ["trafficAccountId"]}, {"required": ["failover"]}],
    }


SEND_REQUEST = _send_schema({"type": "string", "minLength": 1, "maxLength": 128}, "destination")
BULK_REQUEST = _send_schema(
    {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 128}, "minItems": 1},
    "destinations",
)
