"""The Chat API's JSON shapes for messages (camelCase, as the Chat API guide's responses show, docs/chat-api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels_app.models import Message, Participant
from channels_app.status import Status, satisfies


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def participant_json(participant: Participant, *, with_id: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if with_id:
        body["id"] = str(participant.id)
    if participant.phone_number:
        body["phoneNumber"] = participant.phone_number
    else:
        body["messagingAppIdentifier"] = participant.messaging_app_identifier
    if participant.name:
        body["name"] = participant.name
    return body


def message_json(message: Message, participants: list[Participant] | None = None) -> dict[str, Any]:
    """The Chat API's send response shape (docs/chat-api.md), plus what lookups need. A sender that already holds
    the conversation's participants passes them, saving a query."""
    if participants is None:
        participants = list(message.conversation.participants.all())
    agent = next((p for p in participants if p.role == Participant.AGENT), None)
    body: dict[str, Any] = {
        "messageId": str(message.id),
        "id": str(message.id),
        "sender": participant_json(agent, with_id=True) if agent else None,
        "conversation": {
            "id": str(message.conversation_id),
            "participants": [participant_json(p, with_id=p.role == Participant.AGENT) for p in participants],
        },
        "createdAt": iso(message.created_at),
        "updatedAt": iso(message.updated_at),
        "trafficAccountId": str(message.traffic_account_id),
        "deliveryStatus": message.status,
        "channel": message.channel,
        "direction": message.direction,
        "destination": message.destination,
        "reference": message.reference or None,
        "metadata": message.metadata,
    }
    if message.bulk_id:
        body["bulkId"] = str(message.bulk_id)
    if message.channel == "sms" and message.sms_encoding:
        body["sms"] = {"encoding": message.sms_encoding, "segments": message.sms_segments}
    return body


def message_detail_json(message: Message, hops: list[Message]) -> dict[str, Any]:
    body = message_json(message)
    body.update(
        {
            "providerMessageId": message.provider_message_id or None,
            "errorCode": message.error_code or None,
            "errorText": message.error_text or None,
            "content": message.content,
            "sentAt": iso(message.sent_at),
            "deliveredAt": iso(message.delivered_at),
            "readAt": iso(message.read_at),
            "failedAt": iso(message.failed_at),
            "billing": message.billing or None,
            "test": message.is_test,
            "history": [
                {
                    "status": e.status,
                    "occurredAt": iso(e.occurred_at),
                    "source": e.source,
                    **({"detail": e.detail} if e.detail else {}),
                }
                for e in message.events.all()
            ],
        }
    )
    if hops:
        body["failover"] = {
            "chainId": str(message.failover_chain_id),
            "wantedStatus": message.failover_wanted_status,
            "timeoutInSeconds": message.failover_timeout_seconds,
            "outcome": failover_outcome(hops),
            "hops": [
                {
                    "position": h.failover_position,
                    "messageId": str(h.id),
                    "trafficAccountId": str(h.traffic_account_id),
                    "channel": h.channel,
                    "deliveryStatus": h.status,
                    "triggeredAt": iso(h.triggered_at),
                }
                for h in hops
            ],
        }
    return body


def failover_outcome(hops: list[Message]) -> str:
    """Succeeded once any hop reached the wanted status; Failed when every hop failed."""
    wanted = hops[0].failover_wanted_status or Status.DELIVERED
    if any(satisfies(h.status, wanted) for h in hops):
        return "Succeeded"
    if all(h.status == Status.FAILED for h in hops):
        return "Failed"
    return "Pending"
