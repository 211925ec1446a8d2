"""Viber Business Messages through a partner's JSON API (the wire format in
``channels_app/providers/viber/business.md``).

Business Messages reach phone numbers, carry a category (transactional / promotional, or the
session rate), a time to live and at most one call-to-action button; Viber only sells them
through partners, so the wire format is the partner's. This adapter speaks Infobip's documented
Viber API (``POST /viber/2/messages``, delivery and seen reports pushed to our URL), behind the
same interface as the Bot API adapter, so dispatch, reports and failover treat both alike.

The partner signs no reports, so authenticity is a per-account secret (``callback_token``) in
the report URL we give with each message, compared in constant time before anything is parsed.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings

from channels_app.providers.answers import AnswerError, json_object
from channels_app.providers.base import (
    CallbackEvent,
    CallbackRejected,
    CallbackRequest,
    ChannelAdapter,
    HttpExchange,
    OutboundMessage,
    ProviderConfigError,
    ProviderRejected,
    ProviderRequest,
    ProviderThrottled,
    ProviderUnavailable,
    SendResult,
    StatusEvent,
)
from gateway.channels import Channel

SEND_PATH = "/viber/2/messages"
TOKEN_QUERY_PARAMETER = "token"  # noqa: S105 (a parameter name, not a secret)
ACCOUNT_QUERY_PARAMETER = "ta"
MIN_TTL_SECONDS = 30
MAX_TTL_SECONDS = 1_209_600

# The Chat API's categories -> the partner's label; session messages take the session rate.
_LABELS = {"transactional": "TRANSACTIONAL", "promotional": "PROMOTIONAL", "session": "PROMOTIONAL"}
# Status groups of a delivery report (the partner's MessageGeneralStatus).
_STATUS_GROUPS = {
    "ACCEPTED": "Sent",
    "PENDING": "Sent",
    "DELIVERED": "Delivered",
    "EXPIRED": "Failed",
    "UNDELIVERABLE": "Failed",
    "REJECTED": "Failed",
}


def _content(content: Mapping[str, Any]) -> dict[str, Any]:
    """The partner's content object: TEXT, IMAGE or FILE, a button as ``{title, action}``."""
    button = content.get("button") if isinstance(content.get("button"), Mapping) else None
    file = content.get("file") if isinstance(content.get("file"), Mapping) else None
    if file:
        return {"type": "FILE", "mediaUrl": str(file.get("mediaUrl", "")), "fileName": str(file.get("fileName", ""))}
    body: dict[str, Any]
    if content.get("mediaUrl"):
        body = {"type": "IMAGE", "mediaUrl": str(content["mediaUrl"])}
        if content.get("text"):
            body["text"] = str(content["text"])
    elif content.get("text"):
        body = {"type": "TEXT", "text": str(content["text"])}
    else:
        raise ProviderRejected("invalid_content", "Business Messages need text, mediaUrl or file")
    if button:
        body["button"] = {"title": str(button.get("caption", "")), "action": str(button.get("action", ""))}
    return body


def _options(content: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(content.get("type", ""))
    if kind not in _LABELS:
        raise ProviderRejected("invalid_content", f"Business Messages have no {kind!r} category")
    options: dict[str, Any] = {"label": _LABELS[kind]}
    if kind == "session":
        options["applySessionRate"] = True
    if content.get("ttl") is not None:
        ttl = int(content["ttl"])
        if not MIN_TTL_SECONDS <= ttl <= MAX_TTL_SECONDS:
            raise ProviderRejected("invalid_ttl", f"ttl must be {MIN_TTL_SECONDS}..{MAX_TTL_SECONDS} seconds")
        options["validityPeriod"] = {"amount": ttl, "timeUnit": "SECONDS"}
    return options


def _error_text(payload: Mapping[str, Any] | None) -> str:
    request_error = (payload or {}).get("requestError")
    exception = request_error.get("serviceException") if isinstance(request_error, Mapping) else None
    if isinstance(exception, Mapping):
        return str(exception.get("text") or exception.get("messageId") or "")
    return ""


def _first_message(payload: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    messages = (payload or {}).get("messages")
    return messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], Mapping) else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        # The partner writes "2019-08-21T14:55:29.649+0000".
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None


def _report_event(result: Mapping[str, Any]) -> StatusEvent | None:
    provider_id = str(result.get("messageId") or "")
    if not provider_id:
        return None
    if "seenAt" in result:  # a seen report carries no status
        return StatusEvent(status="Read", provider_message_id=provider_id,
                           occurred_at=_timestamp(result.get("seenAt")), raw=result)
    status = result["status"] if isinstance(result.get("status"), Mapping) else {}
    group = str(status.get("groupName", "")).upper()
    gateway_status = _STATUS_GROUPS.get(group)
    if gateway_status is None:
        return None
    error_code = error_text = ""
    if gateway_status == "Failed":
        error = result["error"] if isinstance(result.get("error"), Mapping) else {}
        named = error if error.get("name") and error.get("name") != "NO_ERROR" else status
        error_code = group if group == "EXPIRED" else str(named.get("id", "") or group)
        error_text = str(named.get("description") or named.get("name") or group)
    price = result["price"] if isinstance(result.get("price"), Mapping) else {}
    billing = {
        key: str(value)[:32]
        for key, value in (
            ("price", price.get("pricePerMessage")), ("currency", price.get("currency")),
            ("network", result.get("mccMnc")),
        )
        if value not in (None, "")
    }
    return StatusEvent(
        status=gateway_status,
        provider_message_id=provider_id,
        occurred_at=_timestamp(result.get("doneAt")),
        error_code=error_code,
        error_text=error_text,
        raw=result,
        billing=billing,
    )


class ViberBusinessAdapter(ChannelAdapter):
    """A Viber traffic account whose ``viber_kind`` is ``business``."""

    channel = Channel.VIBER
    provider_name = "the partner"
    default_error_texts = {
        ProviderThrottled: "throttled",
        ProviderConfigError: "API key refused",
        ProviderUnavailable: "partner error",
        ProviderRejected: "refused",
    }

    @property
    def _api_key(self) -> str:
        return self.account.credentials.get("api_key", "")

    @property
    def _callback_token(self) -> str:
        return self.account.credentials.get("callback_token", "")

    def report_url(self) -> str:
        """Where the partner posts this account's delivery and seen reports."""
        query = urlencode({ACCOUNT_QUERY_PARAMETER: str(self.account.id), TOKEN_QUERY_PARAMETER: self._callback_token})
        return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/callbacks/viber?{query}"

    def message_body(self, message: OutboundMessage) -> dict[str, Any]:
        content = message.content
        report_url = self.report_url()
        return {
            "messages": [
                {
                    "sender": self.account.sender or self.account.display_name,
                    "destinations": [{"to": message.destination.lstrip("+"), "messageId": str(message.id)}],
                    "content": _content(content),
                    "options": _options(content),
                    "webhooks": {
                        "delivery": {"url": report_url},
                        "seen": {"url": report_url},
                        "callbackData": str(message.id),
                    },
                }
            ]
        }

    def build_request(self, message: OutboundMessage) -> ProviderRequest:
        if not self._api_key:
            raise ProviderConfigError("no_api_key", "the Business Messages account has no api_key")
        return ProviderRequest(
            "POST",
            f"{self.base_url}{SEND_PATH}",
            json=self.message_body(message),
            headers={"Authorization": f"App {self._api_key}", "Content-Type": "application/json",
                     "Accept": "application/json"},
            secrets=(self._api_key, self._callback_token),
        )

    def answer_error(self, response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
        """The partner's error text on an HTTP error; a 200 may still refuse the destination."""
        if response.status_code >= 400:
            return AnswerError(text=_error_text(payload))
        first = _first_message(payload)
        status = (first or {}).get("status") or {}
        group = str(status.get("groupName", "")).upper()
        if first and first.get("messageId") and group in ("REJECTED", "UNDELIVERABLE"):
            return AnswerError(group, str(status.get("description") or group), ProviderRejected)
        return None

    def parse_answer(
        self, message: OutboundMessage, response: requests.Response, exchange: HttpExchange
    ) -> SendResult:
        first = _first_message(json_object(response))
        if first is None or not first.get("messageId"):
            raise ProviderUnavailable("bad_response", "no messageId in the answer", exchange=exchange)
        return SendResult(provider_message_id=str(first["messageId"]), exchange=exchange)

    # ---- reports -------------------------------------------------------------------------

    def verify_callback(self, request: CallbackRequest) -> None:
        if not self._callback_token:
            raise CallbackRejected("no callback_token configured to verify Business Messages reports")
        given = request.query.get(TOKEN_QUERY_PARAMETER, "")
        if not given or not hmac.compare_digest(given.encode(), self._callback_token.encode()):
            raise CallbackRejected("report URL token does not match")

    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        payload = json.loads(request.body)
        results = payload.get("results") if isinstance(payload, Mapping) else None
        if not isinstance(results, list):
            raise ValueError("Business Messages report without results")
        events = [_report_event(r) for r in results if isinstance(r, Mapping)]
        return [event for event in events if event is not None]
