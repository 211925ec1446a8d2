"""Mitto SMS HTTP API: sending, delivery reports and forwarded two-way SMS.

Mitto signs none of its callbacks, so authenticity rests on the token we put in each callback
URL (see ``channels_app.callbacks.tokens``): a DLR URL carries a token whose subject is our
message id, the two-way forwarding URL one whose subject is the traffic account id. The DLR
therefore identifies its message through the token, never through fields a forger controls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import requests

from channels_app.callbacks.tokens import TOKEN_QUERY_PARAMETER, verify_callback_token
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
    SendResult,
    StatusEvent,
)
from channels_app.providers.http import call_provider, retry_after_seconds
from gateway.channels import Channel

# DLR status words: Mitto's own words and SMPP states (DELIVRD, UNDELIV, ...), any case.
_DLR_STATUSES: dict[str, str] = {
    **dict.fromkeys(("delivrd", "delivered"), "Delivered"),
    **dict.fromkeys(
        ("undeliv", "undelivered", "expired", "rejectd", "rejected", "deleted", "unknown", "failed"),
        "Failed",
    ),
    **dict.fromkeys(("acceptd", "enroute", "buffered", "sent", "accepted"), "Sent"),
}

# Report template fields for what a message cost and the network that took it (lower case).
_PRICE_FIELDS = ("price", "rate", "cost")
_NETWORK_FIELDS = ("mccmnc", "mcc_mnc", "network")
_BILLING_VALUE_MAX = 32

# responseCode 1 is Mitto's internal error; 2-8 (and anything unknown) refuse this message.
_RETRYABLE_RESPONSE_CODES = frozenset({"1"})

# Two-way forwarding format is UNVERIFIED: the first key present wins.
_INBOUND_FIELDS: dict[str, tuple[str, ...]] = {
    "sender": ("from", "sender", "msisdn", "originator"),
    "receiver": ("to", "receiver", "recipient"),
    "text": ("text", "message", "body"),
    "id": ("id", "messageId", "message_id", "msgid"),
    "timestamp": ("timestamp", "receivedAt", "received_at", "date"),
}


def _first(payload: Mapping[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = payload.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def _parse_timestamp(value: str) -> datetime | None:
    """ISO 8601 or unix seconds; ``None`` when the provider sent something else."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _e164(number: str) -> str:
    """Numeric senders come without "+"; alphanumeric ones are kept as they are."""
    digits = number.lstrip("+")
    return f"+{digits}" if digits.isdigit() else number


def _without_token(query: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in query.items() if k != TOKEN_QUERY_PARAMETER}


def _callback_payload(request_body: bytes, content_type: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The callback's fields: a JSON or form body when there is one, else the query string.

    A body that claims (or looks like) JSON but does not parse raises ``ValueError``, which the
    view turns into a 400 so the provider's retry surfaces the problem.
    """
    body = request_body.strip()
    if not body:
        return _without_token(query)
    if "json" in content_type or body[:1] in (b"{", b"["):
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("callback body is not a JSON object")
        return payload
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not form:
        raise ValueError("callback body is neither JSON nor form-encoded")
    return _without_token(form)


class MittoSmsAdapter(ChannelAdapter):
    channel = Channel.SMS

    # ---- sending -------------------------------------------------------------------------

    def send(self, message: OutboundMessage) -> SendResult:
        api_key = self.account.credentials.get("api_key", "")
        body: dict[str, Any] = {
            "from": message.content.get("sender") or self.account.sender,
            "to": message.destination.lstrip("+"),
            "text": message.content.get("text", ""),
            "type": "auto",
            "reference": str(message.id),
        }
        if message.callback_url:
            body["callback"] = message.callback_url
        if self.account.test_mode:
            body["test"] = True
        response, exchange = call_provider(
            self.session,
            "POST",
            f"{self.base_url}/sms",
            secrets=[api_key],
            headers={
                "X-Mitto-API-Key": api_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json_body=body,
        )
        return SendResult(provider_message_id=self._accepted_id(response, exchange), exchange=exchange)

    def _accepted_id(self, response: requests.Response, exchange: HttpExchange) -> str:
        """The Mitto message id of an accepted SMS, or the matching ``SendError``."""
        status = response.status_code
        payload = _json_object(response)
        if status == 429:
            raise ProviderThrottled(
                "http_429", "Mitto throttled the request",
                exchange=exchange, retry_after=retry_after_seconds(response),
            )
        if status in (401, 403):
            raise ProviderConfigError(
                f"http_{status}", _response_text(payload) or "API key rejected or source IP not whitelisted",
                exchange=exchange,
            )
        if status >= 500:
            raise ProviderUnavailable(f"http_{status}", _response_text(payload) or "Mitto server error",
                                      exchange=exchange)
        if payload is None:
            if status >= 400:
                raise ProviderRejected(f"http_{status}", "Mitto refused the request", exchange=exchange)
            # Accepted or not is unknown; a retry risks a duplicate, giving up risks a loss.
            raise ProviderUnavailable("bad_response", "unparseable Mitto response", exchange=exchange)
        code = payload.get("responseCode")
        if code is None and status >= 400:
            raise ProviderRejected(f"http_{status}", _response_text(payload) or "Mitto refused the request",
                                   exchange=exchange)
        if code is not None and str(code).strip() != "0":
            retryable = str(code).strip() in _RETRYABLE_RESPONSE_CODES
            error_class = ProviderUnavailable if retryable else ProviderRejected
            raise error_class(str(code), _response_text(payload) or "Mitto refused the message",
                              exchange=exchange)
        ids = payload.get("ids")
        provider_id = payload.get("id") or (ids[0] if isinstance(ids, list) and ids else "")
        return str(provider_id or "")

    # ---- delivery reports ----------------------------------------------------------------

    @staticmethod
    def verify_dlr(request: CallbackRequest) -> UUID:
        """Our message id from the DLR URL's token; ``CallbackRejected`` unless it is genuine.

        Static so the view can find the message (and so the account) before it has an adapter.
        """
        subject = verify_callback_token(request.query.get(TOKEN_QUERY_PARAMETER, ""), purpose="dlr")
        return _subject_uuid(subject)

    def verify_callback(self, request: CallbackRequest) -> None:
        self.verify_dlr(request)

    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        return self.parse_dlr(request, self.verify_dlr(request))

    @staticmethod
    def parse_dlr(request: CallbackRequest, message_id: UUID) -> list[CallbackEvent]:
        """The report of a request whose token ``verify_dlr`` has already turned into ``message_id``
        (the DLR view verifies before it loads anything; verifying twice cost 8 % of its CPU).

        Static, as ``verify_dlr``: the view parses a report before it has loaded the account."""
        payload = _callback_payload(request.body, request.header("content-type"), request.query)
        # The account's report template names the fields ("Id", "MccMnc", "Price" in Mitto's
        # own examples, "messageId" in the ChatApps guide): read them case-insensitively.
        fields = {str(key).lower(): value for key, value in payload.items()}
        status_word = str(fields.get("status", "")).strip()
        status = _DLR_STATUSES.get(status_word.lower())
        if status is None:
            return []
        error_code = _first(fields, ("errorcode", "error_code", "err"))
        if error_code.strip("0") == "":
            error_code = ""  # SMPP reports "000" for "no error"
        return [
            StatusEvent(
                status=status,
                provider_message_id=_first(fields, ("messageid", "msgid", "id")),
                message_id=message_id,
                occurred_at=_parse_timestamp(_first(fields, ("timestamp", "donedate"))),
                error_code=error_code,
                error_text=status_word if status == "Failed" else "",
                raw=payload,
                billing=_billing(fields),
            )
        ]

    # ---- two-way SMS ---------------------------------------------------------------------

    @staticmethod
    def verify_inbound(request: CallbackRequest) -> UUID:
        """The traffic account id the forwarding URL was issued for; ``CallbackRejected`` if forged.

        Static so the view can learn which account to load before it has an adapter.
        """
        subject = verify_callback_token(request.query.get(TOKEN_QUERY_PARAMETER, ""), purpose="inbound")
        return _subject_uuid(subject)

    def parse_inbound(self, request: CallbackRequest) -> list[InboundEvent]:
        """The forwarded SMS as an inbound text event, for this adapter's traffic account only."""
        if self.verify_inbound(request) != self.account.id:
            raise CallbackRejected("inbound token was issued for another traffic account")
        payload = _callback_payload(request.body, request.header("content-type"), request.query)
        fields = {key: _first(payload, names) for key, names in _INBOUND_FIELDS.items()}
        if not fields["sender"]:
            raise ValueError("inbound SMS without a sender")
        event_id = fields["id"] or hashlib.sha256(
            "\x1f".join((fields["sender"], fields["text"], fields["timestamp"])).encode()
        ).hexdigest()
        return [
            InboundEvent(
                provider_event_id=event_id,
                sender=_e164(fields["sender"]),
                content={"type": "text", "text": fields["text"]},
                occurred_at=_parse_timestamp(fields["timestamp"]),
                raw=payload,
            )
        ]


def canonical_message_id(value: str) -> str:
    """Mitto writes the same id with and without dashes (``715118ef01aa...`` from ``/sms``,
    ``b47e7d4a-39d1-...`` from ``/smsbulk``): compare ids in one spelling."""
    return value.replace("-", "").strip().lower()


def _billing(fields: Mapping[str, Any]) -> dict[str, str]:
    """Price (``~rate~``) and network (``~mcc~~mnc~``, or the two apart) when the template has them."""
    billing: dict[str, str] = {}
    price = _first(fields, _PRICE_FIELDS)
    if price and not price.startswith("~"):  # an unexpanded placeholder says nothing
        billing["price"] = price[:_BILLING_VALUE_MAX]
    network = _first(fields, _NETWORK_FIELDS)
    if not network and fields.get("mcc") not in (None, ""):
        network = f"{fields['mcc']}{fields.get('mnc') or ''}"
    if network and not network.startswith("~"):
        billing["network"] = network[:_BILLING_VALUE_MAX]
    return billing


def _subject_uuid(subject: str) -> UUID:
    try:
        return UUID(subject)
    except ValueError:
        raise CallbackRejected("callback token subject is not an id") from None


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _response_text(payload: Mapping[str, Any] | None) -> str:
    if not payload:
        return ""
    return str(payload.get("responseText") or payload.get("message") or payload.get("error") or "")
