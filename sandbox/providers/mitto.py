"""Mitto SMS HTTP API: ``POST /sms`` and ``/smsbulk`` with ``X-Mitto-API-Key``.

Mitto signs nothing: DLRs go to the ``callback`` URL of each send (which carries the gateway's
own token) and 2-way inbound SMS to a URL configured per number, so both are posted unsigned.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sandbox.behaviours import FAIL, FAILED, SUCCESS, THROTTLE, TIMEOUT, Behaviour
from sandbox.clock import iso_millis
from sandbox.providers.base import (
    CallbackEvent,
    CallbackTarget,
    InboundError,
    Provider,
    report_behaviour,
    unsigned,
)
from sandbox.state import SendDecision
from sandbox.web import BadRequest, Request, Response, json_response

RESPONSE_TEXTS = {
    0: "SMS sent",
    1: "Internal error",
    2: "Invalid type",
    3: "Empty message",
    4: "Text is invalid for the selected encoding",
    5: "Empty sender",
    6: "Invalid sender",
    7: "Empty receiver",
    8: "Invalid receiver",
}
TYPES = ("gsm", "unicode", "binary", "auto")
INVALID_KEY = "invalid"
DEFAULT_FAIL_CODE = 8


def _error(code: int, text: str | None = None) -> Response:
    """A refused SMS: codes above 99 are taken as HTTP statuses, Mitto's own codes as 400/500."""
    if code >= 100:
        return json_response(code, {"responseText": text or "Request failed"})
    status = 500 if code == 1 else 400
    return json_response(status, {"responseCode": code, "responseText": text or RESPONSE_TEXTS.get(code, "Error")})


def _receivers(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _sender_error(sender: str) -> bool:
    """The gateway's sender rule (numeric 1-16 digits, alphanumeric 1-11 characters)."""
    digits = sender[1:] if sender.startswith("+") else sender
    if digits.isdigit():
        return len(digits) > 16
    return len(sender) > 11


def _validate(body: Mapping[str, Any], receivers: list[str]) -> int | None:
    if not str(body.get("from") or "").strip():
        return 5
    if not receivers:
        return 7
    if not str(body.get("text") or ""):
        return 3
    if body.get("type") is not None and str(body["type"]).lower() not in TYPES:
        return 2
    if _sender_error(str(body["from"]).strip()):
        return 6
    for receiver in receivers:
        digits = receiver[1:] if receiver.startswith("+") else receiver
        if not digits.isdigit() or not 6 <= len(digits) <= 15:
            return 8
    return None


class MittoProvider(Provider):
    channel = "sms"

    def handle(self, request: Request, segments: list[str]) -> Response:
        endpoint = segments[0].removesuffix(".json")
        if len(segments) != 1 or endpoint not in ("sms", "smsbulk"):
            return self.finish(request, json_response(404, {"responseText": "Not found"}), "not_found")
        if request.method != "POST":
            return self.finish(request, json_response(405, {"responseText": "Method not allowed"}), "invalid")
        key = request.header("X-Mitto-API-Key").strip()
        if not key or key == INVALID_KEY:
            return self.finish(request, json_response(401, {"responseText": "Invalid API key"}), "unauthorized")
        try:
            body = request.params()
        except BadRequest:
            return self.finish(request, _error(1, "Malformed request body"), "invalid")
        receivers = _receivers(body.get("to"))
        code = _validate(body, receivers)
        if code is not None:
            destination = receivers[0].lstrip("+") if receivers else ""
            return self.finish(request, _error(code), "invalid", destination)
        if endpoint == "sms":
            return self._single(request, body, receivers[0])
        return self._bulk(request, body, receivers)

    def _extra(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {"callback": str(body.get("callback") or ""), "reference": str(body.get("reference") or "")}

    def _accepted(self, body: Mapping[str, Any], provider_id: str, receiver: str) -> dict[str, Any]:
        return {
            "id": provider_id,
            "timestamp": iso_millis(),
            "to": receiver,
            "textLength": len(str(body["text"])),
        }

    def _single(self, request: Request, body: Mapping[str, Any], receiver: str) -> Response:
        destination = receiver.lstrip("+")
        provider_id = uuid.uuid4().hex

        def success() -> Response:
            payload = dict(self._accepted(body, provider_id, destination), responseCode=0, responseText="SMS sent")
            if body.get("test") in (True, "true", "True", "1", 1):
                payload["test"] = True
            return json_response(200, payload)

        return self.send(
            request,
            destination=destination,
            provider_id=provider_id,
            success=success,
            extra=self._extra(body),
            report=bool(body.get("callback")),
        )

    def _bulk(self, request: Request, body: Mapping[str, Any], receivers: list[str]) -> Response:
        destinations = [r.lstrip("+") for r in receivers]
        ids = [str(uuid.uuid4()) for _ in destinations]  # Mitto's bulk ids are dashed, /sms ones are not
        tickets = [
            self.ticket(
                request, destination=destination, provider_id=provider_id,
                extra=self._extra(body), report=bool(body.get("callback")),
            )
            for destination, provider_id in zip(destinations, ids, strict=True)
        ]
        decisions = self.state.decide_sends(tickets)
        # One throttled or hanging recipient decides the whole request, as one HTTP answer must.
        for outcome in (TIMEOUT, THROTTLE):
            for decision in decisions:
                if decision.outcome == outcome:
                    return self.answer(decision, lambda: json_response(200, {}))
        messages = [
            self._bulk_item(body, provider_id, destination, decision)
            for destination, provider_id, decision in zip(destinations, ids, decisions, strict=True)
        ]
        if all(d.outcome == FAIL for d in decisions):
            return self.fail_response(decisions[0].behaviour)
        payload: dict[str, Any] = {"responseCode": 0, "responseText": "SMS sent", "messages": messages}
        if body.get("test") in (True, "true", "True", "1", 1):
            payload["test"] = True
        return json_response(200, payload)

    def _bulk_item(
        self, body: Mapping[str, Any], provider_id: str, destination: str, decision: SendDecision
    ) -> dict[str, Any]:
        if decision.outcome == SUCCESS:
            return self._accepted(body, provider_id, destination)
        code = decision.behaviour.int_code_or(DEFAULT_FAIL_CODE)
        return {
            "to": destination,
            "responseCode": code,
            "responseText": decision.behaviour.error_text or RESPONSE_TEXTS.get(code, "Error"),
        }

    def fail_response(self, behaviour: Behaviour) -> Response:
        return _error(behaviour.int_code_or(DEFAULT_FAIL_CODE), behaviour.error_text)

    def throttle_response(self, behaviour: Behaviour) -> Response:
        retry_after = behaviour.retry_after_seconds()
        return json_response(
            429, {"responseText": behaviour.error_text or "Too many requests"}, {"Retry-After": str(retry_after)}
        )

    # ---- callbacks -----------------------------------------------------------------------

    def report_events(self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        behaviour = report_behaviour(entry)
        if entry.get("report") == FAILED:
            body = {
                "messageId": entry["providerId"],
                "status": "Failed",
                "errorcode": str(behaviour.code_or(1)),
            }
            return [{"event": "failed", "body": body}]
        # SMS has no read receipt: "read" reports delivered.
        body = {"messageId": entry["providerId"], "status": "Delivered", "errorcode": "0"}
        return [{"event": "delivered", "body": body}]

    def callback_target(
        self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None
    ) -> CallbackTarget | None:
        url = str(entry.get("extra", {}).get("callback") or "")
        return unsigned(url) if url else None

    def inbound_events(self, spec: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        url = str(spec.get("account") or "")
        if not url.startswith(("http://", "https://")):
            raise InboundError("for SMS, account is the URL the 2-way number forwards to")
        if not spec.get("from") or not spec.get("text"):
            raise InboundError("from and text are required")
        body = {
            "from": str(spec["from"]).lstrip("+"),
            "to": str(spec.get("to") or "").lstrip("+"),
            "text": str(spec["text"]),
            "id": str(uuid.uuid4()),
        }
        return [{"event": "message", "body": body}]

    def inbound_extra(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"callback": str(spec.get("account") or "")}
