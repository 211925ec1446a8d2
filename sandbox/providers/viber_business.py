"""Viber Business Messages through the partner API the gateway speaks: ``POST /viber/2/messages``
with ``Authorization: App <key>`` (see ``channels_app/providers/viber/business.md``).

It refuses what the partner and Viber refuse: a destination that is not a phone number, a TTL
outside 30..1,209,600 seconds, an unknown label, media in a transactional message, an image with
a button but no text, a text over 1,000 characters. Reports go, unsigned, to the URLs each
message names: a delivery report (DELIVERED, or EXPIRED for a failing destination) and, for a
destination set to be read, a seen report.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from sandbox.behaviours import FAILED, READ, Behaviour
from sandbox.clock import iso_millis
from sandbox.providers.base import (
    CallbackEvent,
    CallbackTarget,
    InboundError,
    Provider,
    report_behaviour,
    unsigned,
)
from sandbox.web import BadRequest, Request, Response, json_response

INVALID_KEY = "invalid"
LABELS = ("PROMOTIONAL", "TRANSACTIONAL")
CONTENT_TYPES = ("TEXT", "IMAGE", "FILE")
MIN_TTL_SECONDS = 30
MAX_TTL_SECONDS = 1_209_600
MAX_TEXT = 1000
MAX_BUTTON_TITLE = 30
_PHONE_NUMBER = re.compile(r"[1-9][0-9]{7,14}")
_TTL_SECONDS = {"SECONDS": 1, "MINUTES": 60, "HOURS": 3600}

_PENDING = {"groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED",
            "description": "Message sent to next instance"}
_DELIVERED = {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET",
              "description": "Message delivered to handset"}
_EXPIRED = {"groupId": 4, "groupName": "EXPIRED", "id": 15, "name": "EXPIRED_EXPIRED",
            "description": "Message expired"}
_NO_ERROR = {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR", "description": "No Error",
             "permanent": False}


def _bad_request(text: str, status: int = 400, message_id: str = "BAD_REQUEST") -> Response:
    return json_response(status, {"requestError": {"serviceException": {"messageId": message_id, "text": text}}})


def _ttl_problem(options: Mapping[str, Any]) -> str | None:
    validity = options.get("validityPeriod")
    if validity is None:
        return None
    if not isinstance(validity, Mapping) or not isinstance(validity.get("amount"), int):
        return "validityPeriod.amount must be a whole number"
    seconds = validity["amount"] * _TTL_SECONDS.get(str(validity.get("timeUnit") or "MINUTES"), 0)
    if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
        return f"Invalid TTL: the validity period must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds"
    return None


def _content_problem(content: Any, label: str) -> str | None:
    if not isinstance(content, Mapping) or content.get("type") not in CONTENT_TYPES:
        return f"content.type must be one of {', '.join(CONTENT_TYPES)}"
    kind = content["type"]
    text = content.get("text")
    if kind == "TEXT" and not text:
        return "content.text is required for TEXT"
    if text is not None and not 1 <= len(str(text)) <= MAX_TEXT:
        return f"content.text must be 1-{MAX_TEXT} characters"
    if kind in ("IMAGE", "FILE") and not content.get("mediaUrl"):
        return "content.mediaUrl is required"
    if kind == "FILE" and not content.get("fileName"):
        return "content.fileName is required"
    if kind != "TEXT" and label == "TRANSACTIONAL":
        return "Transactional messages carry text only"
    button = content.get("button")
    if button is not None:
        if kind == "FILE":
            return "A FILE message cannot carry a button"
        if not isinstance(button, Mapping) or not button.get("title") or not button.get("action"):
            return "button needs title and action"
        if len(str(button["title"])) > MAX_BUTTON_TITLE:
            return f"button.title must be at most {MAX_BUTTON_TITLE} characters"
        if kind == "IMAGE" and not text:
            return "content.text is required with an image and a button"
    return None


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, Mapping):
        return "messages[0] must be an object"
    if not message.get("sender"):
        return "sender is required"
    destinations = message.get("destinations")
    if not isinstance(destinations, list) or len(destinations) != 1 or not isinstance(destinations[0], Mapping):
        return "exactly one destination is expected"
    if not _PHONE_NUMBER.fullmatch(str(destinations[0].get("to") or "")):
        return "Invalid destination address: Business Messages go to phone numbers in international format"
    options = message["options"] if isinstance(message.get("options"), Mapping) else {}
    label = str(options.get("label") or "PROMOTIONAL")
    if label not in LABELS:
        return f"options.label must be one of {', '.join(LABELS)}"
    return _ttl_problem(options) or _content_problem(message.get("content"), label)


class ViberBusinessProvider(Provider):
    channel = "viber_business"

    def handle(self, request: Request, segments: list[str]) -> Response:
        if segments != ["viber", "2", "messages"] or request.method != "POST":
            return self.finish(request, _bad_request("Not found", 404, "NOT_FOUND"), "not_found")
        key = request.header("Authorization").removeprefix("App ").strip()
        if not key or key == INVALID_KEY:
            return self.finish(request, _bad_request("Invalid login details", 401, "UNAUTHORIZED"), "unauthorized")
        try:
            body = request.params()
        except BadRequest:
            return self.finish(request, _bad_request("Invalid JSON"), "invalid")
        messages = body.get("messages")
        if not isinstance(messages, list) or len(messages) != 1:
            return self.finish(request, _bad_request("messages must hold one message"), "invalid")
        message = messages[0]
        problem = _message_problem(message)
        if problem:
            return self.finish(request, _bad_request(problem), "invalid")
        destination = message["destinations"][0]
        to = str(destination["to"])
        provider_id = str(destination.get("messageId") or uuid.uuid4())
        webhooks = message["webhooks"] if isinstance(message.get("webhooks"), Mapping) else {}

        def success() -> Response:
            return json_response(200, {
                "bulkId": str(uuid.uuid4()),
                "messages": [{"messageId": provider_id, "status": _PENDING, "destination": to}],
            })

        return self.send(
            request, destination=to, provider_id=provider_id, success=success, account=key,
            extra={"delivery": _url(webhooks, "delivery"), "seen": _url(webhooks, "seen"),
                   "callbackData": str(webhooks.get("callbackData") or ""), "sender": str(message["sender"])},
            report=bool(_url(webhooks, "delivery")),
        )

    def fail_response(self, behaviour: Behaviour) -> Response:
        return _bad_request(behaviour.error_text or "Invalid destination address")

    def throttle_response(self, behaviour: Behaviour) -> Response:
        return json_response(
            429,
            {"requestError": {"serviceException": {"messageId": "TOO_MANY_REQUESTS", "text": "Too many requests"}}},
            {"Retry-After": str(behaviour.retry_after_seconds())},
        )

    # ---- callbacks -----------------------------------------------------------------------

    def report_events(self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        extra = entry.get("extra") or {}
        sent_at = iso_millis(float(entry.get("sentAt") or time.time()))
        failed = entry.get("report") == FAILED
        result = {
            "bulkId": "", "messageId": entry["providerId"], "to": entry["destination"], "sentAt": sent_at,
            "doneAt": iso_millis(), "messageCount": 1,
            "status": _EXPIRED if failed else _DELIVERED,
            "error": _NO_ERROR,
            "price": {"pricePerMessage": 0.01, "currency": "EUR"},
            "callbackData": extra.get("callbackData", ""),
        }
        if failed:
            result["error"] = dict(_NO_ERROR, groupName="EXPIRED", id=15, name="EXPIRED",
                                   description=report_behaviour(entry).error_text or "Message expired",
                                   permanent=True)
        events: list[CallbackEvent] = [{"event": "failed" if failed else "delivered", "body": {"results": [result]}}]
        if entry.get("report") == READ:
            seen = {"messageId": entry["providerId"], "from": extra.get("sender", ""), "to": entry["destination"],
                    "sentAt": sent_at, "seenAt": iso_millis()}
            events.append({"event": "seen", "body": {"results": [seen]}})
        return events

    def callback_target(
        self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None
    ) -> CallbackTarget | None:
        url = str((entry.get("extra") or {}).get("delivery") or "")
        return unsigned(url) if url else None

    def inbound_events(self, spec: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        raise InboundError("the Business Messages sandbox simulates outbound messages and their reports only")


def _url(webhooks: Mapping[str, Any], name: str) -> str:
    target = webhooks.get(name)
    return str(target.get("url") or "") if isinstance(target, Mapping) else ""
