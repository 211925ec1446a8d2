"""Viber REST Bot API: ``/pa/send_message``, ``/pa/set_webhook``, ``/pa/get_account_info``.

Viber answers HTTP 200 even when it refuses; the verdict is the ``status`` field. Callbacks go to
the URL the bot set with ``set_webhook`` and are signed with the bot's auth token.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from sandbox import ids
from sandbox.behaviours import FAILED, READ, Behaviour
from sandbox.clock import epoch_millis
from sandbox.providers.base import (
    CallbackEvent,
    CallbackTarget,
    InboundError,
    Provider,
    report_behaviour,
)
from sandbox.signing import VIBER_SIGNATURE_HEADER, viber_signature
from sandbox.web import BadRequest, Request, Response, json_response

STATUS_MESSAGES = {
    0: "ok",
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    7: "publicAccountBlocked",
    8: "publicAccountNotFound",
    9: "publicAccountSuspended",
    10: "webhookNotSet",
    11: "receiverNoSuitableDevice",
    12: "tooManyRequests",
    13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
}
ALL_EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
# Events a bot cannot opt out of with set_webhook's event_types.
ALWAYS_SENT = ("message", "webhook")
INVALID_TOKEN = "invalid"  # noqa: S105 - the sandbox's agreed "bad token" value
DEFAULT_FAIL_STATUS = 6
MAX_REQUEST_BYTES = 30 * 1024
REGISTRATION = "viber"

# Fields each message type needs besides the common ones.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "picture": ("media",),
    "video": ("media", "size"),
    "file": ("media", "size", "file_name"),
    "location": ("location",),
    "contact": ("contact",),
    "sticker": ("sticker_id",),
    "url": ("media",),
    "rich_media": ("rich_media",),
}


def viber_status(status: int, message: str | None = None, **extra: Any) -> Response:
    payload = {"status": status, "status_message": message or STATUS_MESSAGES.get(status, "generalError")}
    payload.update(extra)
    return json_response(200, payload)


# A phone number in any common spelling. A bot's receiver is the id Viber gave the user for this
# bot; Viber knows no user by a phone number there and answers receiverNotRegistered.
_PHONE_NUMBER = re.compile(r"\+?[1-9][0-9]{7,14}")


def _validate_send(body: Mapping[str, Any]) -> tuple[int, str] | None:
    receiver = str(body.get("receiver") or "")
    if not receiver:
        return 4, "missingData: receiver"
    if _PHONE_NUMBER.fullmatch(receiver):
        return 5, "receiverNotRegistered: a bot's receiver is a Viber user id, not a phone number"
    sender = body.get("sender")
    if not isinstance(sender, Mapping) or not sender.get("name"):
        return 4, "missingData: sender.name"
    if len(str(sender["name"])) > 28:
        return 3, "badData: sender.name is longer than 28 characters"
    keyboard = body.get("keyboard")
    if keyboard is not None and (not isinstance(keyboard, Mapping) or keyboard.get("Type") != "keyboard"):
        return 3, "badData: keyboard is not valid, object has missing required properties ([\"Type\"])"
    kind = body.get("type")
    if not kind and isinstance(keyboard, Mapping):
        # A keyboard sent on its own (the official SDKs' KeyboardMessage) has no type.
        return None
    if not kind:
        return 4, "missingData: type"
    if kind not in _REQUIRED:
        return 3, f"badData: unknown message type {kind}"
    for field in _REQUIRED[kind]:
        if body.get(field) in (None, ""):
            return 4, f"missingData: {field}"
    if kind == "text" and len(str(body["text"])) > 7000:
        return 3, "badData: text is longer than 7000 characters"
    if kind == "location":
        location = body["location"]
        if not isinstance(location, Mapping) or location.get("lat") is None or location.get("lon") is None:
            return 3, "badData: location needs lat and lon"
    if len(str(body.get("tracking_data") or "")) > 4000:
        return 3, "badData: tracking_data is longer than 4000 characters"
    return None


class ViberProvider(Provider):
    channel = "viber"
    registration_kind = REGISTRATION

    def handle(self, request: Request, segments: list[str]) -> Response:
        if len(segments) != 2 or segments[0] != "pa":
            return self.finish(request, json_response(404, {"status": 404, "status_message": "notFound"}), "not_found")
        token = request.header("X-Viber-Auth-Token").strip()
        if not token or token == INVALID_TOKEN:
            return self.finish(request, viber_status(2), "unauthorized")
        if len(request.body) > MAX_REQUEST_BYTES:
            return self.finish(request, viber_status(3, "badData: request is larger than 30 KB"), "invalid")
        try:
            body = request.params()
        except BadRequest:
            return self.finish(request, viber_status(3), "invalid")
        method = segments[1]
        if method == "send_message":
            return self._send(request, token, body)
        if method == "set_webhook":
            return self._set_webhook(request, token, body)
        if method == "get_account_info":
            return self.finish(request, self._account_info(token), "success")
        return self.finish(request, json_response(404, {"status": 404, "status_message": "notFound"}), "not_found")

    def _send(self, request: Request, token: str, body: Mapping[str, Any]) -> Response:
        receiver = str(body.get("receiver") or "")
        problem = _validate_send(body)
        if problem:
            return self.finish(request, viber_status(*problem), "invalid", receiver)
        message_token = ids.VIBER_TOKEN_BASE + self.state.next_int()

        def success() -> Response:
            return viber_status(0, message_token=message_token, chat_hostname=ids.chat_hostname())

        return self.send(
            request, destination=receiver, provider_id=str(message_token), success=success, account=token,
        )

    def _set_webhook(self, request: Request, token: str, body: Mapping[str, Any]) -> Response:
        if "url" not in body:
            return self.finish(request, viber_status(4, "missingData: url"), "invalid")
        url = str(body.get("url") or "")
        if not url:
            self.state.delete_registration(REGISTRATION, token)
            return self.finish(request, viber_status(0, chat_hostname=ids.chat_hostname()), "success")
        if not url.startswith(("http://", "https://")):
            return self.finish(request, viber_status(1), "invalid")
        event_types = body.get("event_types")
        if not isinstance(event_types, list):
            event_types = list(ALL_EVENT_TYPES)
        registration = {
            "url": url,
            "event_types": [e for e in event_types if e in ALL_EVENT_TYPES],
            "send_name": bool(body.get("send_name")),
            "send_photo": bool(body.get("send_photo")),
        }
        self.state.set_registration(REGISTRATION, token, registration)
        # Viber checks a new webhook with a signed "webhook" event; the sandbox sends it too.
        check = {
            "event": "webhook",
            "timestamp": epoch_millis(),
            "chat_hostname": ids.chat_hostname(),
            "message_token": ids.VIBER_TOKEN_BASE + self.state.next_int(),
        }
        self.state.schedule(
            {"id": f"webhook-{check['message_token']}", "kind": "webhook-check", "channel": self.channel,
             "account": token, "attempt": 0, "events": [{"event": "webhook", "body": check}]},
            0,
        )
        response = viber_status(0, chat_hostname=ids.chat_hostname(), event_types=registration["event_types"])
        return self.finish(request, response, "success")

    def _account_info(self, token: str) -> Response:
        registration = self.state.get_registration(REGISTRATION, token) or {}
        return viber_status(
            0,
            id=f"pa:{int(hashlib.sha256(token.encode()).hexdigest()[:15], 16)}",
            chat_hostname=ids.chat_hostname(),
            name="Sandbox Bot",
            uri="sandboxbot",
            icon="https://example.com/sandbox-bot.png",
            background="https://example.com/sandbox-bot-background.png",
            category="Technology",
            subcategory="Software",
            location={"lon": 8.5417, "lat": 47.3769},
            country="CH",
            webhook=registration.get("url", ""),
            event_types=registration.get("event_types", []),
            subscribers_count=0,
            members=[{"id": "01234567890A=", "name": "Sandbox Admin", "role": "admin"}],
        )

    def fail_response(self, behaviour: Behaviour) -> Response:
        status = behaviour.int_code_or(DEFAULT_FAIL_STATUS)
        return viber_status(status, behaviour.error_text, chat_hostname=ids.chat_hostname())

    def throttle_response(self, behaviour: Behaviour) -> Response:
        return viber_status(12, behaviour.error_text, chat_hostname=ids.chat_hostname())

    # ---- callbacks -----------------------------------------------------------------------

    def report_events(self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        report = entry.get("report")
        names = ["failed"] if report == FAILED else ["delivered", "seen"] if report == READ else ["delivered"]
        wanted = (registration or {}).get("event_types", ALL_EVENT_TYPES)
        events = []
        for name in names:
            if name not in wanted:
                continue
            body: dict[str, Any] = {
                "event": name,
                "timestamp": epoch_millis(),
                "chat_hostname": ids.chat_hostname(),
                "message_token": int(entry["providerId"]),
                "user_id": entry["destination"],
            }
            if name == "failed":
                body["desc"] = report_behaviour(entry).error_text or "failed to deliver the message"
            events.append({"event": name, "body": body})
        return events

    def callback_target(
        self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None
    ) -> CallbackTarget | None:
        if not registration or not registration.get("url"):
            return None
        token = str(entry["account"])
        return CallbackTarget(
            url=str(registration["url"]), sign=lambda body: {VIBER_SIGNATURE_HEADER: viber_signature(token, body)}
        )

    def inbound_events(self, spec: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        if not registration:
            raise InboundError("no webhook set for this auth token (call /pa/set_webhook first)", 409)
        sender = str(spec.get("from") or "")
        if not sender:
            raise InboundError("from is required")
        user = {
            "id": sender, "name": str(spec.get("name") or "Sandbox User"),
            "avatar": "https://example.com/avatar.jpg", "language": "en", "country": "CH", "api_version": 10,
        }
        event = str(spec.get("event") or "message")
        common = {"event": event, "timestamp": epoch_millis(), "chat_hostname": ids.chat_hostname(),
                  "message_token": ids.VIBER_TOKEN_BASE + self.state.next_int()}
        if event == "message":
            body = dict(common, sender=user, message=self._inbound_message(spec), silent=False)
        elif event == "subscribed":
            body = dict(common, user=user)
        elif event == "unsubscribed":
            body = dict(common, user_id=sender)
        elif event == "conversation_started":
            body = dict(common, type="open", context=str(spec.get("payload") or ""), user=user, subscribed=False)
        else:
            raise InboundError(f"unsupported Viber inbound event {event!r}")
        if event not in ALWAYS_SENT and event not in registration.get("event_types", ALL_EVENT_TYPES):
            raise InboundError(f"the bot did not subscribe to {event!r} events", 409)
        return [{"event": event, "body": body}]

    @staticmethod
    def _inbound_message(spec: Mapping[str, Any]) -> dict[str, Any]:
        kind = str(spec.get("type") or "text")
        text = str(spec.get("text") or "")
        message: dict[str, Any] = {"type": kind}
        if kind == "text":
            if not text:
                raise InboundError("text is required")
            message["text"] = text
        elif kind in ("picture", "video", "file", "url", "sticker"):
            message["media"] = str(spec.get("mediaUrl") or "https://example.com/media.jpg")
            if text:
                message["text"] = text
            if kind == "file":
                message["file_name"] = str(spec.get("fileName") or "file.pdf")
                message["size"] = int(spec.get("size") or 1024)
            if kind == "sticker":
                message["sticker_id"] = int(spec.get("stickerId") or 46105)
        elif kind == "location":
            message["location"] = {"lat": spec.get("latitude", 0), "lon": spec.get("longitude", 0)}
        elif kind == "contact":
            message["contact"] = {
                "name": str(spec.get("name") or "Contact"), "phone_number": str(spec.get("phone") or ""),
            }
        else:
            raise InboundError(f"unsupported Viber inbound type {kind!r}")
        payload = spec.get("payload")
        if payload is not None:
            message["tracking_data"] = payload if isinstance(payload, str) else json.dumps(payload)
        return message
