"""Google Business Messages callbacks: the signature check and the events they carry.

Pure functions of the raw request and the agent's client token. Callbacks are signed with the
client token (``X-Goog-Signature``, an HMAC-SHA512 of the raw body); the one unsigned request,
Google's webhook verification, proves itself by carrying that client token instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from channels_app.providers.base import (
    CallbackEvent,
    CallbackRejected,
    CallbackRequest,
    InboundEvent,
    StatusEvent,
)

SIGNATURE_HEADER = "X-Goog-Signature"

_RECEIPT_STATUSES = {"DELIVERED": "Delivered", "READ": "Read"}


def verify_signature(client_token: str, request: CallbackRequest) -> None:
    """``CallbackRejected`` unless the body is signed with the client token, or is the webhook
    verification request carrying it."""
    if not client_token:
        raise CallbackRejected("no client token configured to verify GBM callbacks")
    signature = request.header(SIGNATURE_HEADER).strip()
    if signature:
        digest = hmac.new(client_token.encode(), request.body, hashlib.sha512).digest()
        if not hmac.compare_digest(signature.encode(), base64.b64encode(digest)):
            raise CallbackRejected(f"{SIGNATURE_HEADER} does not match the body")
        return
    verification = _verification_payload(request.body)
    given = str(verification.get("clientToken", "")) if verification else ""
    if not given or not hmac.compare_digest(given.encode(), client_token.encode()):
        raise CallbackRejected(f"missing {SIGNATURE_HEADER}")


def parse_events(body: bytes) -> list[CallbackEvent]:
    """Receipts, user messages and suggestion taps; typing, surveys and the webhook
    verification request produce no event."""
    payload = _json_object(body)
    if payload is None:
        raise ValueError("GBM callback body is not a JSON object")
    if isinstance(payload.get("receipts"), Mapping):
        return _receipt_events(payload)
    event: InboundEvent | None = None
    if isinstance(payload.get("message"), Mapping):
        event = _message_event(payload)
    elif isinstance(payload.get("suggestionResponse"), Mapping):
        event = _suggestion_event(payload)
    return [event] if event is not None else []


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, "")}


def last_segment(name: Any) -> str:
    return str(name).rsplit("/", 1)[-1] if name else ""


def _verification_payload(body: bytes) -> Mapping[str, Any] | None:
    payload = _json_object(body)
    if payload is None or not isinstance(payload.get("secret"), str):
        return None
    return payload


def verification_secret(request: CallbackRequest) -> str | None:
    """The secret to echo when this is Google's webhook verification request, else ``None``."""
    payload = _verification_payload(request.body)
    return str(payload["secret"]) if payload is not None else None


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _uuid_or_none(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _receipt_events(payload: Mapping[str, Any]) -> list[CallbackEvent]:
    receipts = payload["receipts"]
    when = _timestamp(receipts.get("createTime") or payload.get("sendTime"))
    events: list[CallbackEvent] = []
    for receipt in receipts.get("receipts") or []:
        if not isinstance(receipt, Mapping):
            continue
        status = _RECEIPT_STATUSES.get(str(receipt.get("receiptType", "")))
        provider_id = last_segment(receipt.get("message"))
        if status and provider_id:
            events.append(StatusEvent(
                status=status,
                provider_message_id=provider_id,
                message_id=_uuid_or_none(provider_id),
                occurred_at=when,
                raw=receipt,
            ))
    return events


def _sender_name(payload: Mapping[str, Any]) -> str:
    context = payload["context"] if isinstance(payload.get("context"), Mapping) else {}
    user = context["userInfo"] if isinstance(context.get("userInfo"), Mapping) else {}
    return str(user.get("displayName") or "")


def _message_content(message: Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(message.get("text"), str):
        return {"type": "text", "text": message["text"]}
    image = message.get("image")
    info = image.get("contentInfo") if isinstance(image, Mapping) else None
    if isinstance(info, Mapping) and info.get("fileUrl"):
        return _compact({"type": "image", "url": info["fileUrl"], "caption": info.get("altText")})
    return None


def _message_event(payload: Mapping[str, Any]) -> InboundEvent | None:
    message = payload["message"]
    content = _message_content(message)
    event_id = message.get("messageId") or last_segment(message.get("name"))
    if content is None or not event_id or not payload.get("conversationId"):
        return None
    return InboundEvent(
        provider_event_id=str(event_id),
        sender=str(payload["conversationId"]),
        content=content,
        sender_name=_sender_name(payload),
        occurred_at=_timestamp(message.get("createTime") or payload.get("sendTime")),
        raw=payload,
    )


def _suggestion_event(payload: Mapping[str, Any]) -> InboundEvent | None:
    """A tap on a suggested reply or action. It carries no id of its own, so the event id is
    the message it answers plus its time: stable across Google's retries, distinct per tap."""
    response = payload["suggestionResponse"]
    if not payload.get("conversationId"):
        return None
    created = str(response.get("createTime") or payload.get("sendTime") or "")
    return InboundEvent(
        provider_event_id=f"{last_segment(response.get('message'))}@{created}",
        sender=str(payload["conversationId"]),
        content={
            "type": "reply",
            "text": str(response.get("text", "")),
            "payload": str(response.get("postbackData", "")),
        },
        sender_name=_sender_name(payload),
        occurred_at=_timestamp(created),
        raw=payload,
    )


