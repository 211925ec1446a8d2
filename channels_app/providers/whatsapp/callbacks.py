"""WhatsApp Cloud API webhooks: Meta's signature check and the events a webhook carries.

Pure functions of the raw request and the account's credentials, so the adapter delegates to them
and they are tested without HTTP. The signature is the app secret's HMAC over the raw bytes,
checked before a single field is read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from channels_app.providers.base import CallbackEvent, CallbackRejected, CallbackRequest, InboundEvent, StatusEvent

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="
# Bounds on what an inbound message may add to the stored content.
_FLOW_RESPONSE_MAX = 16_000
_ORDER_ITEMS_MAX = 100

_STATUSES = {"sent": "Sent", "delivered": "Delivered", "read": "Read", "played": "Read", "failed": "Failed"}
_MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


@dataclass(frozen=True)
class TemplateStatusEvent:
    """Meta's verdict on a message template (webhook field ``message_template_status_update``)."""

    name: str
    language: str
    status: str
    reason: str = ""
    provider_template_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


WhatsAppEvent = CallbackEvent | TemplateStatusEvent


def verify_subscription(expected: str, query: Mapping[str, str]) -> str:
    """The ``hub.challenge`` to echo when Meta's subscription handshake carries ``expected``, else 403."""
    given = query.get("hub.verify_token", "")
    if (
        query.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise CallbackRejected("webhook verification token mismatch", status_code=403)
    return query.get("hub.challenge", "")


def verify_signature(app_secret: str, request: CallbackRequest) -> None:
    """``CallbackRejected`` unless the body carries the app secret's HMAC."""
    if not app_secret:
        raise CallbackRejected("no app secret configured to verify WhatsApp webhooks")
    header = request.header(SIGNATURE_HEADER).strip()
    if not header.startswith(_SIGNATURE_PREFIX):
        raise CallbackRejected(f"missing {SIGNATURE_HEADER}")
    expected = hmac.new(app_secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header[len(_SIGNATURE_PREFIX) :].lower().encode(), expected.encode()):
        raise CallbackRejected(f"{SIGNATURE_HEADER} does not match the body")


def parse_webhook(body: bytes, own_number: str) -> list[WhatsAppEvent]:
    """Statuses, inbound messages and template verdicts; parts we do not know are skipped.

    Returns ``TemplateStatusEvent`` besides the common events, so callers dispatch on type.
    """
    payload = json.loads(body)
    if not isinstance(payload, Mapping):
        raise ValueError("WhatsApp webhook body is not a JSON object")
    events: list[WhatsAppEvent] = []
    for field_name, value in _changes(payload):
        # Meta sends one app's webhooks to one URL: several numbers may share it. A change
        # about another phone number is not this traffic account's to apply.
        number = str((value.get("metadata") or {}).get("phone_number_id", "")) if isinstance(value, Mapping) else ""
        if number and own_number and number != own_number:
            continue
        if field_name == "message_template_status_update":
            template_event = _template_status_event(value)
            if template_event is not None:
                events.append(template_event)
            continue
        for status in mappings(value.get("statuses")):
            status_event = _status_event(status)
            if status_event is not None:
                events.append(status_event)
        for message in mappings(value.get("messages")):
            inbound = _inbound_event(message, value.get("contacts"))
            if inbound is not None:
                events.append(inbound)
    return events


def error_details(error: Mapping[str, Any]) -> str:
    data = error.get("error_data")
    return str(data.get("details") or "") if isinstance(data, Mapping) else ""


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def _status_event(status: Mapping[str, Any]) -> StatusEvent | None:
    gateway_status = _STATUSES.get(str(status.get("status", "")).lower())
    if gateway_status is None:
        return None
    error_code = error_text = ""
    errors = status.get("errors")
    if gateway_status == "Failed" and isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        first = errors[0]
        error_code = str(first.get("code", ""))
        title = str(first.get("title") or first.get("message") or "")
        details = error_details(first)
        error_text = f"{title}: {details}" if details and details != title else title
    return StatusEvent(
        status=gateway_status,
        provider_message_id=str(status.get("id", "")),
        message_id=_uuid_or_none(status.get("biz_opaque_callback_data")),
        occurred_at=_timestamp(status.get("timestamp")),
        error_code=error_code,
        error_text=error_text,
        raw=status,
    )


def _inbound_content(message: Mapping[str, Any]) -> dict[str, Any] | None:
    """The gateway's normalised content for one inbound message; ``None`` for kinds we skip."""
    kind = message.get("type")
    body = message.get(kind) if isinstance(kind, str) else None
    if not isinstance(body, Mapping):
        return _unsupported_content(message) if kind else None
    if kind == "text":
        return {"type": "text", "text": body.get("body", "")}
    if kind in _MEDIA_TYPES:
        return _compact(
            {
                "type": kind,
                "mediaId": body.get("id"),
                "mimeType": body.get("mime_type"),
                "caption": body.get("caption"),
                "filename": body.get("filename"),
            }
        )
    if kind == "location":
        return _compact(
            {
                "type": "location",
                "latitude": body.get("latitude"),
                "longitude": body.get("longitude"),
                "name": body.get("name"),
                "address": body.get("address"),
            }
        )
    if kind == "interactive":
        return _interactive_content(body)
    if kind == "button":
        return {"type": "reply", "payload": body.get("payload", ""), "text": body.get("text", "")}
    if kind == "reaction":
        return {"type": "reaction", "messageId": body.get("message_id", ""), "emoji": body.get("emoji", "")}
    if kind == "order":
        return _order_content(body)
    if kind == "system":
        return _compact(
            {
                "type": "system",
                "systemType": body.get("type"),
                "text": body.get("body"),
                "newWaId": body.get("wa_id") or body.get("new_wa_id"),
            }
        )
    return _unsupported_content(message)


def _unsupported_content(message: Mapping[str, Any]) -> dict[str, Any]:
    """A message the Cloud API could not hand over (``unsupported``, or a type newer than this
    adapter) still reaches the agent, with the type and Meta's reason, instead of vanishing."""
    body = message["unsupported"] if isinstance(message.get("unsupported"), Mapping) else {}
    errors = message.get("errors") if isinstance(message.get("errors"), list) else []
    first = errors[0] if errors and isinstance(errors[0], Mapping) else {}
    reason = first.get("title") or first.get("message")
    return _compact(
        {
            "type": "unsupported",
            "providerType": body.get("type") or str(message.get("type") or ""),
            "errorCode": str(first["code"]) if first.get("code") is not None else None,
            "errorText": error_details(first) or reason,
        }
    )


def _interactive_content(body: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(body.get("type", ""))
    reply = body.get(kind)
    if not isinstance(reply, Mapping):
        return {"type": "unsupported", "providerType": f"interactive.{kind}"}
    if kind in ("button_reply", "list_reply"):
        return _compact(
            {
                "type": "reply",
                "id": reply.get("id"),
                "text": reply.get("title"),
                "description": reply.get("description"),
            }
        )
    if kind == "nfm_reply":
        # A WhatsApp Flow's answer: ``response_json`` is a JSON document in a string.
        raw = str(reply.get("response_json") or "{}")
        try:
            response = json.loads(raw) if len(raw) <= _FLOW_RESPONSE_MAX else {"truncated": raw[:_FLOW_RESPONSE_MAX]}
        except ValueError:
            response = {"unparsed": raw}
        return _compact(
            {"type": "flowReply", "name": reply.get("name"), "text": reply.get("body"), "response": response}
        )
    return {"type": "unsupported", "providerType": f"interactive.{kind}"}


def _order_content(body: Mapping[str, Any]) -> dict[str, Any]:
    items = body["product_items"] if isinstance(body.get("product_items"), list) else []
    return _compact(
        {
            "type": "order",
            "catalogId": body.get("catalog_id"),
            "text": body.get("text"),
            "items": [
                _compact(
                    {
                        "productRetailerId": item.get("product_retailer_id"),
                        "quantity": item.get("quantity"),
                        "itemPrice": item.get("item_price"),
                        "currency": item.get("currency"),
                    }
                )
                for item in items[:_ORDER_ITEMS_MAX]
                if isinstance(item, Mapping)
            ],
        }
    )


def _contacts_content(message: Mapping[str, Any]) -> dict[str, Any] | None:
    contacts = message.get("contacts")
    return {"type": "contacts", "contacts": contacts} if isinstance(contacts, list) else None


def _sender_name(contacts: Any, wa_id: str) -> str:
    if not isinstance(contacts, list):
        return ""
    matching = [c for c in contacts if isinstance(c, Mapping) and c.get("wa_id") == wa_id]
    for contact in matching or contacts[:1]:
        profile = contact.get("profile") if isinstance(contact, Mapping) else None
        if isinstance(profile, Mapping) and profile.get("name"):
            return str(profile["name"])
    return ""


def _inbound_event(message: Mapping[str, Any], contacts: Any) -> InboundEvent | None:
    content = _contacts_content(message) if message.get("type") == "contacts" else _inbound_content(message)
    sender = str(message.get("from", ""))
    if content is None or not sender or not message.get("id"):
        return None
    return InboundEvent(
        provider_event_id=str(message["id"]),
        sender=f"+{sender.lstrip('+')}",
        content=content,
        sender_name=_sender_name(contacts, sender),
        occurred_at=_timestamp(message.get("timestamp")),
        raw=message,
    )


def _template_status_event(value: Mapping[str, Any]) -> TemplateStatusEvent | None:
    if not value.get("event") or not value.get("message_template_name"):
        return None
    reason = value.get("reason")
    return TemplateStatusEvent(
        name=str(value["message_template_name"]),
        language=str(value.get("message_template_language", "")),
        status=str(value["event"]),
        reason="" if reason in (None, "NONE") else str(reason),
        provider_template_id=str(value.get("message_template_id", "")),
        raw=value,
    )


def _changes(payload: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for entry in payload.get("entry") or []:
        if not isinstance(entry, Mapping):
            continue
        for change in entry.get("changes") or []:
            if isinstance(change, Mapping) and isinstance(change.get("value"), Mapping):
                yield str(change.get("field", "")), change["value"]


def mappings(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


