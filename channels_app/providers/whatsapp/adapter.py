"""WhatsApp Business Cloud API (Meta Graph API): messages, webhooks and message templates.

Meta reports every failure as ``{"error": {"code": ..}}`` and mostly with HTTP 400, so the
retry decision is taken from ``error.code`` first (the lists in this package's README.md) and from
the HTTP status only when the code does not say. Webhook verification and parsing live in
``callbacks.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from django.conf import settings

from channels_app.providers.answers import AnswerError, json_object
from channels_app.providers.base import (
    CallbackRequest,
    ChannelAdapter,
    HttpExchange,
    OutboundMessage,
    ProviderConfigError,
    ProviderRejected,
    ProviderRequest,
    ProviderThrottled,
    ProviderUnavailable,
    SendError,
    SendResult,
)
from channels_app.providers.whatsapp.callbacks import (
    TemplateStatusEvent,
    WhatsAppEvent,
    error_details,
    mappings,
    parse_webhook,
    verify_signature,
    verify_subscription,
)
from gateway.channels import Channel

# TemplateStatusEvent is re-exported: report processing imports it from the adapter.
__all__ = ["TemplateStatusEvent", "WhatsAppAdapter", "WhatsAppEvent"]

_MAX_TEMPLATE_PAGES = 100

# Error codes: README.md in this package, "Answers".
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

# Which optional fields each outgoing media type accepts (audio takes no caption).
_MEDIA_FIELDS: dict[str, tuple[str, ...]] = {
    "image": ("caption",),
    "video": ("caption",),
    "document": ("caption", "filename"),
    "audio": (),
}


def _code_error_class(code: int | None, transient: bool) -> type[SendError] | None:
    """The class Meta's error code decides; ``None`` leaves it to the HTTP status."""
    if code in _THROTTLING_CODES:
        return ProviderThrottled
    if code in _RETRYABLE_CODES or transient:
        return ProviderUnavailable
    if code in _CONFIG_CODES:
        return ProviderConfigError
    if code in _PERMANENT_CODES:
        return ProviderRejected
    return None


def _answer_error(response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
    status = response.status_code
    error = payload.get("error") if payload else None
    if not error:
        if status < 400 and payload is None:
            # 2xx without a JSON object: whether it was accepted is unknown; retry rather than lose it.
            return AnswerError("bad_response", "unparseable Graph API answer", ProviderUnavailable)
        return None
    if not isinstance(error, dict):
        error = {}
    raw_code = error.get("code")
    try:
        code: int | None = int(raw_code) if raw_code is not None else None
    except (TypeError, ValueError):
        code = None
    message = str(error.get("message") or f"HTTP {status} from the Graph API")
    details = error_details(error)
    return AnswerError(
        str(raw_code) if raw_code is not None else "",
        f"{message} ({details})" if details and details not in message else message,
        _code_error_class(code, bool(error.get("is_transient"))),
    )


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


class WhatsAppAdapter(ChannelAdapter):
    channel = Channel.WHATSAPP
    provider_name = "the Graph API"

    @property
    def _graph_root(self) -> str:
        version = settings.WHATSAPP_GRAPH_VERSION.strip("/")
        return f"{self.base_url}/{version}"

    @property
    def _secrets(self) -> list[str]:
        credentials = self.account.credentials
        return [credentials.get(k, "") for k in ("access_token", "app_secret", "verify_token")]

    def _request(
        self, method: str, url: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None
    ) -> ProviderRequest:
        return ProviderRequest(
            method,
            url,
            json=json_body,
            params=params,
            headers={
                "Authorization": f"Bearer {self.account.credentials.get('access_token', '')}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            secrets=tuple(self._secrets),
        )

    def _call(
        self, method: str, url: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], HttpExchange]:
        response, exchange = self.perform(self._request(method, url, json_body=json_body, params=params))
        return json_object(response) or {}, exchange

    # ---- sending -------------------------------------------------------------------------

    def build_request(self, message: OutboundMessage) -> ProviderRequest:
        phone_number_id = self.account.credentials.get("phone_number_id", "")
        return self._request(
            "POST", f"{self._graph_root}/{phone_number_id}/messages", json_body=_message_body(message)
        )

    def answer_error(self, response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
        return _answer_error(response, payload)

    def parse_answer(
        self, message: OutboundMessage, response: requests.Response, exchange: HttpExchange
    ) -> SendResult:
        accepted = mappings((json_object(response) or {}).get("messages"))
        wamid = accepted[0].get("id") if accepted else None
        if not wamid:
            # Accepted or not is unknown; a retry risks a duplicate, giving up risks a loss.
            raise ProviderUnavailable("bad_response", "no message id in the answer", exchange=exchange)
        return SendResult(provider_message_id=str(wamid), exchange=exchange)

    # ---- webhooks ------------------------------------------------------------------------

    def verify_subscription(self, query: Mapping[str, str]) -> str:
        """The ``hub.challenge`` to echo when Meta's subscription handshake is ours, else 403."""
        return verify_subscription(self.account.credentials.get("verify_token", ""), query)

    def verify_callback(self, request: CallbackRequest) -> None:
        verify_signature(self.account.credentials.get("app_secret", ""), request)

    def parse_callback(self, request: CallbackRequest) -> list[WhatsAppEvent]:  # type: ignore[override]
        """Statuses, inbound messages and template verdicts (``TemplateStatusEvent`` too)."""
        return parse_webhook(request.body, str(self.account.credentials.get("phone_number_id", "")))

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
            templates.extend(dict(item) for item in mappings(payload.get("data")))
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
