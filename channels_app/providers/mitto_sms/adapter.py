"""Mitto SMS HTTP API: sending, delivery reports and forwarded two-way SMS.

Mitto signs none of its callbacks, so authenticity rests on the token we put in each callback
URL (see ``channels_app.callbacks.tokens``): a DLR URL carries a token whose subject is our
message id, the two-way forwarding URL one whose subject is the traffic account id. The DLR
therefore identifies its message through the token, never through fields a forger controls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import requests

from channels_app.callbacks.tokens import TOKEN_QUERY_PARAMETER, verify_callback_token
from channels_app.providers.answers import AnswerError, http_error_class, json_object
from channels_app.providers.base import (
    CallbackEvent,
    CallbackRejected,
    CallbackRequest,
    ChannelAdapter,
    HttpExchange,
    InboundEvent,
    OutboundMessage,
    ProviderAmbiguous,
    ProviderConfigError,
    ProviderRejected,
    ProviderRequest,
    ProviderThrottled,
    ProviderUnavailable,
    SendError,
    SendResult,
    StatusEvent,
)
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
    sensitive_headers = frozenset({"x-mitto-api-key"})

    provider_name = "Mitto"
    default_error_texts = {
        ProviderThrottled: "Mitto throttled the request",
        ProviderConfigError: "API key rejected or source IP not whitelisted",
        ProviderUnavailable: "Mitto server error",
        ProviderRejected: "Mitto refused the request",
    }

    # ---- sending -------------------------------------------------------------------------

    def build_request(self, message: OutboundMessage) -> ProviderRequest:
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
        return ProviderRequest(
            "POST",
            f"{self.base_url}/sms",
            json=body,
            headers={"X-Mitto-API-Key": api_key, "Content-Type": "application/json", "Accept": "application/json"},
            secrets=(api_key,),
        )

    # ---- sending several messages in one call (/smsbulk) ------------------------------------

    sends_in_bulk = True

    def send_many(
        self, messages: Sequence[OutboundMessage], *, callback_url: str | None = None
    ) -> list[SendResult | SendError]:
        """Messages of one text, sender and options in ``/smsbulk`` calls, one per set of distinct
        destinations (Mitto answers one id per number, so a number twice in one call could not
        be told apart). Every message gets the outcome of its call: a whole-call failure (429,
        401, 5xx, a timeout) is every message's, else its own entry of the answer, matched by
        ``to``. ``callback_url`` receives the reports of every destination (the caller's
        account-wide token; reports are matched by the provider ids answered here)."""
        results: list[SendResult | SendError | None] = [None] * len(messages)
        for call in _distinct_destination_calls(messages):
            group = [messages[i] for i in call]
            for i, outcome in zip(call, self._send_bulk_call(group, callback_url), strict=True):
                results[i] = outcome
        return [outcome for outcome in results if outcome is not None]

    def build_bulk_request(self, messages: Sequence[OutboundMessage], callback_url: str | None) -> ProviderRequest:
        """The ``/smsbulk`` call: the ``/sms`` body of the first message (they share text, sender
        and options) with every destination in ``to``, comma-separated, and no ``reference``
        (it would name one message only)."""
        single = self.build_request(OutboundMessage(
            id=messages[0].id, destination=messages[0].destination, content=messages[0].content,
            callback_url=callback_url,
        ))
        body = dict(single.json)
        body.pop("reference", None)
        body["to"] = ",".join(m.destination.lstrip("+") for m in messages)
        return ProviderRequest(
            single.method, f"{self.base_url}/smsbulk", json=body, headers=single.headers, secrets=single.secrets
        )

    def _send_bulk_call(
        self, messages: Sequence[OutboundMessage], callback_url: str | None
    ) -> list[SendResult | SendError]:
        try:
            response, exchange = self.call(self.build_bulk_request(messages, callback_url))
        except SendError as failed:  # a timeout or connection error: the same for every message
            return [failed] * len(messages)
        refused = self.classify_answer(response, exchange)
        if refused is not None:
            return [refused] * len(messages)
        payload = json_object(response) or {}
        items = payload.get("messages")
        by_to: dict[str, Mapping[str, Any]] = {}
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping) and item.get("to") not in (None, ""):
                by_to.setdefault(str(item["to"]).strip().lstrip("+"), item)
        outcomes: list[SendResult | SendError] = []
        for message in messages:
            destination = message.destination.lstrip("+")
            outcomes.append(_bulk_outcome(by_to.get(destination), _narrowed(exchange, destination, len(messages))))
        return outcomes

    def classify_answer(self, response: requests.Response, exchange: HttpExchange) -> SendError | None:
        """``responseCode`` 0 accepts the message even under a refusal status (4xx): the body
        names the message Mitto took. Throttling, credential and server statuses still count."""
        payload = json_object(response)
        if (
            payload is not None
            and str(payload.get("responseCode")).strip() == "0"
            and http_error_class(response.status_code) in (None, ProviderRejected)
        ):
            return None
        return super().classify_answer(response, exchange)

    def answer_error(self, response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
        """Mitto's ``responseCode`` refines a refusal; throttling, credential and server statuses
        are decided by the HTTP status alone (with Mitto's text, except for throttling)."""
        status = response.status_code
        text = _response_text(payload)
        by_status = http_error_class(status)
        if by_status is ProviderThrottled:
            return None
        if by_status not in (None, ProviderRejected):
            return AnswerError(text=text)
        if payload is None:
            if status >= 400:
                return AnswerError()
            # Accepted or not is unknown; a retry risks a duplicate, giving up risks a loss.
            return AnswerError("bad_response", "unparseable Mitto response", ProviderUnavailable)
        code = payload.get("responseCode")
        if code is None:
            return AnswerError(text=text) if status >= 400 else None
        if str(code).strip() == "0":
            return None
        retryable = str(code).strip() in _RETRYABLE_RESPONSE_CODES
        return AnswerError(
            str(code), text or "Mitto refused the message", ProviderUnavailable if retryable else ProviderRejected
        )

    def parse_answer(
        self, message: OutboundMessage, response: requests.Response, exchange: HttpExchange
    ) -> SendResult:
        """The Mitto message id of an accepted SMS."""
        payload = json_object(response) or {}
        ids = payload.get("ids")
        provider_id = payload.get("id") or (ids[0] if isinstance(ids, list) and ids else "")
        return SendResult(provider_message_id=str(provider_id or ""), exchange=exchange)

    # ---- delivery reports ----------------------------------------------------------------

    @staticmethod
    def verify_dlr(request: CallbackRequest) -> UUID:
        """Our message id from the DLR URL's token; ``CallbackRejected`` unless it is genuine.

        Static so the view can find the message (and so the account) before it has an adapter.
        """
        subject = verify_callback_token(request.query.get(TOKEN_QUERY_PARAMETER, ""), purpose="dlr")
        return _subject_uuid(subject)

    @staticmethod
    def verify_bulk_dlr(request: CallbackRequest) -> UUID:
        """The traffic account id a ``/smsbulk`` report URL was issued for; ``CallbackRejected``
        unless genuine. Its own purpose, so a bulk URL never passes as a per-message one."""
        subject = verify_callback_token(request.query.get(TOKEN_QUERY_PARAMETER, ""), purpose="dlr_bulk")
        return _subject_uuid(subject)

    def verify_callback(self, request: CallbackRequest) -> None:
        self.verify_dlr(request)

    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        return self.parse_dlr(request, self.verify_dlr(request))

    @staticmethod
    def parse_dlr(request: CallbackRequest, message_id: UUID | None) -> list[CallbackEvent]:
        """The report of a request whose token ``verify_dlr`` has already turned into ``message_id``
        (the DLR view verifies before it loads anything; verifying twice cost 8 % of its CPU).
        ``None`` for a ``/smsbulk`` report, which its provider id alone names.

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


def _distinct_destination_calls(messages: Sequence[OutboundMessage]) -> list[list[int]]:
    """Indexes of ``messages`` split into calls in which no destination appears twice: the
    n-th message to a number goes into the n-th call."""
    calls: list[list[int]] = []
    seen: dict[str, int] = {}
    for index, message in enumerate(messages):
        destination = message.destination.lstrip("+")
        call = seen.get(destination, 0)
        seen[destination] = call + 1
        if call == len(calls):
            calls.append([])
        calls[call].append(index)
    return calls


def _narrowed(exchange: HttpExchange, destination: str, count: int) -> HttpExchange:
    """The call as one message's attempt records it: ``to`` narrowed to its own number (with
    ``toCount``, the call's number of destinations) and the answer to its own entry, so a
    message's history does not list every other recipient of the call."""
    request_body = exchange.request_body
    if isinstance(request_body, dict):
        request_body = {**request_body, "to": destination, "toCount": count}
    response_body = exchange.response_body
    if isinstance(response_body, dict) and isinstance(response_body.get("messages"), list):
        own = [
            item for item in response_body["messages"]
            if isinstance(item, dict) and str(item.get("to", "")).lstrip("+") == destination
        ]
        response_body = {**response_body, "messages": own}
    return HttpExchange(
        method=exchange.method, url=exchange.url, request_headers=exchange.request_headers,
        request_body=request_body, status_code=exchange.status_code, response_body=response_body,
        duration_ms=exchange.duration_ms, error=exchange.error,
    )


def _bulk_outcome(item: Mapping[str, Any] | None, exchange: HttpExchange) -> SendResult | SendError:
    """One destination's entry of an accepted ``/smsbulk`` answer. An entry that is missing or
    names no id leaves open whether Mitto took that SMS: ambiguous, like a read timeout."""
    if item is None:
        return ProviderAmbiguous(
            "missing_in_answer", "Mitto's bulk answer has no entry for this destination", exchange=exchange
        )
    code = str(item.get("responseCode", "0")).strip()
    if code != "0":
        text = _response_text(item) or "Mitto refused the message"
        if code in _RETRYABLE_RESPONSE_CODES:
            return ProviderUnavailable(code, text, exchange=exchange)
        return ProviderRejected(code, text, exchange=exchange)
    provider_id = str(item.get("id") or "").strip()
    if not provider_id:
        return ProviderAmbiguous(
            "bad_response", "Mitto's bulk answer names no message id for this destination", exchange=exchange
        )
    return SendResult(provider_message_id=provider_id, exchange=exchange)


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


def _response_text(payload: Mapping[str, Any] | None) -> str:
    if not payload:
        return ""
    return str(payload.get("responseText") or payload.get("message") or payload.get("error") or "")
