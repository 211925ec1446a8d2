"""WhatsApp Business Cloud API (Meta Graph API): messages, webhooks and message templates.

Meta reports every failure as ``{"error": {"code": ..}}`` and mostly with HTTP 400, so the
retry decision is taken from ``error.code`` first (the lists in docs/providers.md) and from
the HTTP status only when the code does not say. Webhooks are checked with the app secret's
HMAC over the raw bytes before a single field is read.
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

import requests
from django.conf import settings

from channels_app.providers.base import (
    CallbackEvent,
    CallbackRejected,
    CallbackRequest,
    ChannelAdapter,
    HttpExchange,
    InboundEvent,
    OutboundMessage,
    ProviderConfigError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    SendError,
    SendResult,
    StatusEvent,
)
from channels_app.providers.http import call_provider, retry_after_seconds
from gateway.channels import Channel

DEFAULT_GRAPH_VERSION = "v23.0"
SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="
_MAX_TEMPLATE_PAGES = 100
# Bounds on what an inbound message may add to the stored content.
_FLOW_RESPONSE_MAX = 16_000
_ORDER_ITEMS_MAX = 100

# Error codes: docs/providers.md, WhatsApp Cloud API.
_THROTTLING_CODES = frozenset({4, 80007, 130429, 131056, 133016})
_RETRYABLE_CODES = frozenset({1, 2, 131000, 131016})
_CONFIG_CODES = frozenset({0, 3, 10, 190, 368, 131031, *range(200, 300)})
_PERMANENT_CODES = frozenset(
    {
        100,
        131008,
        131009,
        131026,
        131030,
        131047,
        131048,
        131049,
        131050,
        131051,
        131052,
        131053,
        *range(132000, 132017),
    }
)

_STATUSES = {"sent": "Sent", "delivered": "Delivered", "read": "Read", "played": "Read", "failed": "Failed"}
_MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
# Which optional fields each outgoing media type accepts (audio takes no caption).
_MEDIA_FIELDS: dict[str, tuple[str, ...]] = {
    "image": ("caption",),
    "video": ("caption",),
    "document": ("caption", "filename"),
    "audio": (),
}


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


def _error_class(http_status: int, code: int | None, transient: bool) -> type[SendError]:
    if http_status == 429 or code in _THROTTLING_CODES:
        return ProviderThrottled
    if code in _RETRYABLE_CODES or transient:
        return ProviderUnavailable
    if code in _CONFIG_CODES:
        return ProviderConfigError
    if code in _PERMANENT_CODES:
        return ProviderRejected
    if http_status >= 500:
        return ProviderUnavailable
    if http_status in (401, 403):
        return ProviderConfigError
    return ProviderRejected


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _payload_or_raise(response: requests.Response, exchange: HttpExchange) -> dict[str, Any]:
    """The response's JSON object when the call succeeded, else the classified ``SendError``."""
    status = response.status_code
    payload = _json_object(response)
    error = payload.get("error") if payload else None
    if status < 400 and payload is not None and not error:
        return payload
    if status < 400 and not error:
        # 2xx without a JSON object: whether it was accepted is unknown; retry rather than lose it.
        raise ProviderUnavailable("bad_response", "unparseable Graph API answer", exchange=exchange)
    if not isinstance(error, dict):
        error = {}
    raw_code = error.get("code")
    try:
        code: int | None = int(raw_code) if raw_code is not None else None
    except (TypeError, ValueError):
        code = None
    error_class = _error_class(status, code, bool(error.get("is_transient")))
    message = str(error.get("message") or f"HTTP {status} from the Graph API")
    details = _error_details(error)
    text = f"{message} ({details})" if details and details not in message else message
    raise error_class(
        str(raw_code) if raw_code is not None else f"http_{status}",
        text,
        exchange=exchange,
        retry_after=retry_after_seconds(response) if error_class is ProviderThrottled else None,
    )


def _error_details(error: Mapping[str, Any]) -> str:
    data = error.get("error_data")
    return str(data.get("details") or "") if isinstance(data, Mapping) else ""


def _text_parameters(values: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": str(value)} for value in values or []]


def _header_parameter(value: Any) -> dict[str, Any]:
    """A header placeholder: plain values are text; ``{"type": "image", "url": ..}`` is media."""
    if isinstance(value, Mapping):
        kind = str(value.get("type", "text"))
        if kind in ("image", "video", "document") and value.get("url"):
            media: dict[str, Any] = {"link": value["url"]}
            if kind == "document" and value.get("filename"):
                media["filename"] = value["filename"]
            return {"type": kind, kind: media}
        return {"type": "text", "text": str(value.get("text", ""))}
    return {"type": "text", "text": str(value)}


def _button_component(button: Mapping[str, Any]) -> dict[str, Any]:
    """A quick-reply payload or a dynamic URL's suffix, for the template's button at ``index``."""
    if button.get("type") == "quickReply":
        sub_type, parameter = "quick_reply", {"type": "payload", "payload": str(button.get("payload", ""))}
    else:
        sub_type, parameter = "url", {"type": "text", "text": str(button.get("text", ""))}
    return {"type": "button", "sub_type": sub_type, "index": str(button.get("index", 0)), "parameters": [parameter]}


def _template_object(template: Mapping[str, Any]) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if template.get("headerParameters"):
        components.append(
            {"type": "header", "parameters": [_header_parameter(v) for v in template["headerParameters"]]}
        )
    if template.get("parameters"):
        components.append({"type": "body", "parameters": _text_parameters(template["parameters"])})
    for button in template.get("buttons") or []:
        components.append(_button_component(button))
    body: dict[str, Any] = {
        "name": template.get("name", ""),
        "language": {"code": template.get("language", "")},
    }
    if components:
        body["components"] = components
    return body


def _regular_object(regular: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = str(regular.get("type", "text"))
    if kind == "text":
        return "text", {"preview_url": bool(regular.get("previewUrl")), "body": regular.get("text", "")}
    if kind not in _MEDIA_FIELDS:
        raise ProviderRejected("unsupported_content", f"regular message type {kind!r} is not supported")
    media: dict[str, Any] = {"link": regular.get("url", "")}
    for name in _MEDIA_FIELDS[kind]:
        if regular.get(name):
            media[name] = regular[name]
    return kind, media


def _message_body(message: OutboundMessage) -> dict[str, Any]:
    content = message.content
    if content.get("type") == "template":
        kind, payload = "template", _template_object(content.get("template") or {})
    elif content.get("type") == "regular":
        kind, payload = _regular_object(content.get("regular") or {})
    else:
        kind = str(content.get("type"))
        raise ProviderRejected("unsupported_content", f"content type {kind!r} is not supported")
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.destination.lstrip("+"),
        "type": kind,
        kind: payload,
        "biz_opaque_callback_data": str(message.id),
    }


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
        details = _error_details(first)
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
    errors = message["errors"] if isinstance(message.get("errors"), list) else []
    first = errors[0] if errors and isinstance(errors[0], Mapping) else {}
    reason = first.get("title") or first.get("message")
    return _compact(
        {
            "type": "unsupported",
            "providerType": body.get("type") or str(message.get("type") or ""),
            "errorCode": str(first["code"]) if first.get("code") is not None else None,
            "errorText": _error_details(first) or reason,
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


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


class WhatsAppAdapter(ChannelAdapter):
    channel = Channel.WHATSAPP

    @property
    def _graph_root(self) -> str:
        version = str(getattr(settings, "WHATSAPP_GRAPH_VERSION", DEFAULT_GRAPH_VERSION)).strip("/")
        return f"{self.base_url}/{version}"

    @property
    def _secrets(self) -> list[str]:
        credentials = self.account.credentials
        return [credentials.get(k, "") for k in ("access_token", "app_secret", "verify_token")]

    def _call(
        self, method: str, url: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], HttpExchange]:
        response, exchange = call_provider(
            self.session,
            method,
            url,
            secrets=self._secrets,
            headers={
                "Authorization": f"Bearer {self.account.credentials.get('access_token', '')}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json_body=json_body,
            params=params,
        )
        return _payload_or_raise(response, exchange), exchange

    # ---- sending -------------------------------------------------------------------------

    def send(self, message: OutboundMessage) -> SendResult:
        phone_number_id = self.account.credentials.get("phone_number_id", "")
        payload, exchange = self._call(
            "POST", f"{self._graph_root}/{phone_number_id}/messages", json_body=_message_body(message)
        )
        accepted = _mappings(payload.get("messages"))
        wamid = accepted[0].get("id") if accepted else None
        if not wamid:
            # Accepted or not is unknown; a retry risks a duplicate, giving up risks a loss.
            raise ProviderUnavailable("bad_response", "no message id in the answer", exchange=exchange)
        return SendResult(provider_message_id=str(wamid), exchange=exchange)

    # ---- webhooks ------------------------------------------------------------------------

    def verify_subscription(self, query: Mapping[str, str]) -> str:
        """The ``hub.challenge`` to echo when Meta's subscription handshake is ours, else 403."""
        expected = self.account.credentials.get("verify_token", "")
        given = query.get("hub.verify_token", "")
        if (
            query.get("hub.mode") != "subscribe"
            or not expected
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            raise CallbackRejected("webhook verification token mismatch", status_code=403)
        return query.get("hub.challenge", "")

    def verify_callback(self, request: CallbackRequest) -> None:
        app_secret = self.account.credentials.get("app_secret", "")
        if not app_secret:
            raise CallbackRejected("no app secret configured to verify WhatsApp webhooks")
        header = request.header(SIGNATURE_HEADER).strip()
        if not header.startswith(_SIGNATURE_PREFIX):
            raise CallbackRejected(f"missing {SIGNATURE_HEADER}")
        expected = hmac.new(app_secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(header[len(_SIGNATURE_PREFIX) :].lower().encode(), expected.encode()):
            raise CallbackRejected(f"{SIGNATURE_HEADER} does not match the body")

    def parse_callback(self, request: CallbackRequest) -> list[WhatsAppEvent]:  # type: ignore[override]
        """Statuses, inbound messages and template verdicts; parts we do not know are skipped.

        Returns ``TemplateStatusEvent`` besides the common events, so callers dispatch on type.
        """
        payload = json.loads(request.body)
        if not isinstance(payload, Mapping):
            raise ValueError("WhatsApp webhook body is not a JSON object")
        events: list[WhatsAppEvent] = []
        own_number = str(self.account.credentials.get("phone_number_id", ""))
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
            for status in _mappings(value.get("statuses")):
                status_event = _status_event(status)
                if status_event is not None:
                    events.append(status_event)
            for message in _mappings(value.get("messages")):
                inbound = _inbound_event(message, value.get("contacts"))
                if inbound is not None:
                    events.append(inbound)
        return events

    # ---- message templates ---------------------------------------------------------------

    @property
    def _templates_url(self) -> str:
        return f"{self._graph_root}/{self.account.credentials.get('waba_id', '')}/message_templates"

    def create_template(
        self, *, name: str, category: str, language: str, components: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Submit a template for review; Meta answers ``{"id", "status", "category"}``."""
        payload, _ = self._call(
            "POST",
            self._templates_url,
            json_body={"name": name, "category": category, "language": language, "components": components},
        )
        return {
            "id": str(payload.get("id", "")),
            "status": str(payload.get("status", "")),
            "category": str(payload.get("category", category)),
        }

    def list_templates(self) -> list[dict[str, Any]]:
        """Every template of the business account, following the ``after`` cursor page by page.

        The cursor is replayed against our own base URL instead of fetching ``paging.next``
        verbatim, so the access token never travels to a URL taken from a response.
        """
        templates: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        seen_cursors: set[str] = set()
        for _ in range(_MAX_TEMPLATE_PAGES):
            payload, _exchange = self._call("GET", self._templates_url, params=params)
            templates.extend(dict(item) for item in _mappings(payload.get("data")))
            paging = payload["paging"] if isinstance(payload.get("paging"), Mapping) else {}
            cursors = paging["cursors"] if isinstance(paging.get("cursors"), Mapping) else {}
            after = cursors.get("after")
            if not paging.get("next") or not after or after in seen_cursors:
                break
            seen_cursors.add(after)
            params = {"limit": 100, "after": after}
        return templates

    def delete_template(self, *, name: str) -> None:
        """Delete the template in all of its languages (Meta deletes by name)."""
        payload, exchange = self._call("DELETE", self._templates_url, params={"name": name})
        if payload.get("success") is False:
            raise ProviderRejected("delete_failed", f"template {name!r} was not deleted", exchange=exchange)
