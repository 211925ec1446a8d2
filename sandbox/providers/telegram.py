"""Telegram Bot API: ``/bot<token>/<method>`` for sending and for the webhook methods.

Bots get no delivery receipts, so nothing is scheduled after a send; updates (user messages)
are posted to the ``setWebhook`` URL with its ``X-Telegram-Bot-Api-Secret-Token``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.behaviours import Behaviour
from sandbox.clock import epoch_seconds
from sandbox.providers.base import CallbackEvent, CallbackTarget, InboundError, Provider
from sandbox.signing import TELEGRAM_SECRET_HEADER
from sandbox.web import BadRequest, Request, Response, json_response

INVALID_TOKEN = "invalid"  # noqa: S105 - the sandbox's agreed "bad token" value
REGISTRATION = "telegram"
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PARSE_MODES = ("HTML", "MarkdownV2", "Markdown")
DEFAULT_FAIL_CODE = 403
MAX_TEXT = 4096
MAX_CAPTION = 1024

_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# Send methods: the field carrying the content and what Telegram says when it is missing.
_SEND_METHODS: dict[str, tuple[str, str]] = {
    "sendmessage": ("text", "Bad Request: message text is empty"),
    "sendphoto": ("photo", "Bad Request: there is no photo in the request"),
    "senddocument": ("document", "Bad Request: there is no document in the request"),
    "sendvideo": ("video", "Bad Request: there is no video in the request"),
    "sendvoice": ("voice", "Bad Request: there is no voice in the request"),
    "sendlocation": ("latitude", "Bad Request: latitude is empty"),
}


def telegram_error(code: int, description: str | None = None, **extra: Any) -> Response:
    payload: dict[str, Any] = {
        "ok": False, "error_code": code, "description": description or _DESCRIPTIONS.get(code, "Error"),
    }
    headers = None
    if extra.get("retry_after") is not None:
        payload["parameters"] = {"retry_after": extra["retry_after"]}
        headers = {"Retry-After": str(extra["retry_after"])}
    return json_response(code, payload, headers)


def ok(result: Any, description: str | None = None) -> Response:
    payload: dict[str, Any] = {"ok": True, "result": result}
    if description:
        payload["description"] = description
    return json_response(200, payload)


def _bot_id(token: str) -> int:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 7_000_000_000


def _chat(chat_id: str) -> dict[str, Any]:
    if chat_id.startswith("@"):
        return {"id": -1_000_000_000_000 - (int.from_bytes(chat_id.encode()[:4], "big") % 10**9),
                "title": chat_id[1:], "username": chat_id[1:], "type": "channel"}
    numeric = int(chat_id) if chat_id.lstrip("-").isdigit() else 0
    if numeric < 0:
        kind = "supergroup" if chat_id.startswith("-100") else "group"
        return {"id": numeric, "title": "Sandbox Group", "type": kind}
    return {"id": numeric, "first_name": "Sandbox", "last_name": "User", "type": "private"}


def _file(kind: str, **fields: Any) -> dict[str, Any]:
    return {"file_id": f"{kind}-" + secrets.token_urlsafe(24), "file_unique_id": secrets.token_urlsafe(8), **fields}


def _content(method: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The message fields Telegram echoes back for each kind of send."""
    caption = {"caption": str(params["caption"])} if params.get("caption") else {}
    if method == "sendmessage":
        return {"text": str(params["text"])}
    if method == "sendphoto":
        return {"photo": [_file("photo", file_size=1_234, width=90, height=90),
                          _file("photo", file_size=54_321, width=800, height=800)], **caption}
    if method == "senddocument":
        return {"document": _file("document", file_name="document.pdf", mime_type="application/pdf",
                                  file_size=12_345), **caption}
    if method == "sendvideo":
        return {"video": _file("video", duration=int(params.get("duration") or 10), width=640, height=360,
                               mime_type="video/mp4", file_size=1_048_576), **caption}
    if method == "sendvoice":
        return {"voice": _file("voice", duration=int(params.get("duration") or 5), mime_type="audio/ogg",
                               file_size=8_192), **caption}
    return {"location": {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}}


def _send_problem(method: str, params: Mapping[str, Any]) -> str | None:
    if params.get("chat_id") in (None, ""):
        return "Bad Request: chat_id is empty"
    field, missing = _SEND_METHODS[method]
    if params.get(field) in (None, ""):
        return missing
    if method == "sendmessage" and len(str(params["text"])) > MAX_TEXT:
        return "Bad Request: message is too long"
    if len(str(params.get("caption") or "")) > MAX_CAPTION:
        return "Bad Request: message caption is too long"
    if method == "sendlocation":
        try:
            float(params["latitude"])
            float(params.get("longitude", ""))
        except (TypeError, ValueError):
            return "Bad Request: wrong latitude or longitude"
    parse_mode = params.get("parse_mode")
    if parse_mode not in (None, "") and parse_mode not in PARSE_MODES:
        return f"Bad Request: unsupported parse_mode {parse_mode}"
    return None


class TelegramProvider(Provider):
    channel = "telegram"
    registration_kind = REGISTRATION
    has_receipts = False

    def handle(self, request: Request, segments: list[str]) -> Response:
        token = segments[0][3:]
        if len(segments) != 2 or not token:
            return self.finish(request, telegram_error(404), "not_found")
        if token == INVALID_TOKEN:
            return self.finish(request, telegram_error(401), "unauthorized")
        if request.method not in ("GET", "POST"):
            return self.finish(request, telegram_error(405, "Method Not Allowed"), "invalid")
        try:
            params = request.params()
        except BadRequest:
            return self.finish(request, telegram_error(400, "Bad Request: can't parse JSON object"), "invalid")
        method = segments[1].lower()
        if method in _SEND_METHODS:
            return self._send(request, token, method, params)
        handler: Callable[[str, Mapping[str, Any]], tuple[Response, str]] | None = {
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._webhook_info,
            "getme": self._get_me,
        }.get(method)
        if handler is None:
            return self.finish(request, telegram_error(404), "not_found")
        response, outcome = handler(token, params)
        return self.finish(request, response, outcome)

    def _send(self, request: Request, token: str, method: str, params: Mapping[str, Any]) -> Response:
        chat_id = str(params.get("chat_id") or "")
        problem = _send_problem(method, params)
        if problem:
            return self.finish(request, telegram_error(400, problem), "invalid", chat_id)
        message_id = self.state.next_int()

        def success() -> Response:
            message = {
                "message_id": message_id,
                "from": {"id": _bot_id(token), "is_bot": True, "first_name": "Sandbox Bot", "username": "sandbox_bot"},
                "chat": _chat(chat_id),
                "date": epoch_seconds(),
                **_content(method, params),
            }
            return ok(message)

        return self.send(request, destination=chat_id, provider_id=str(message_id), success=success, account=token)

    def _set_webhook(self, token: str, params: Mapping[str, Any]) -> tuple[Response, str]:
        url = str(params.get("url") or "")
        if not url:
            existed = self.state.delete_registration(REGISTRATION, token)
            return ok(True, "Webhook was deleted" if existed else "Webhook is already deleted"), "success"
        if not url.startswith(("http://", "https://")):
            return telegram_error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"), "invalid"
        secret = str(params.get("secret_token") or "")
        if secret and not SECRET_TOKEN.match(secret):
            return telegram_error(400, "Bad Request: secret token contains unallowed characters"), "invalid"
        allowed = params.get("allowed_updates")
        registration = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": allowed if isinstance(allowed, list) else [],
            "max_connections": int(params.get("max_connections") or 40),
        }
        self.state.set_registration(REGISTRATION, token, registration)
        return ok(True, "Webhook was set"), "success"

    def _delete_webhook(self, token: str, params: Mapping[str, Any]) -> tuple[Response, str]:
        existed = self.state.delete_registration(REGISTRATION, token)
        return ok(True, "Webhook was deleted" if existed else "Webhook is already deleted"), "success"

    def _webhook_info(self, token: str, params: Mapping[str, Any]) -> tuple[Response, str]:
        registration = self.state.get_registration(REGISTRATION, token) or {}
        info: dict[str, Any] = {"url": registration.get("url", ""), "has_custom_certificate": False,
                                "pending_update_count": 0}
        if registration:
            info["max_connections"] = registration.get("max_connections", 40)
            info["ip_address"] = "127.0.0.1"
            if registration.get("allowed_updates"):
                info["allowed_updates"] = registration["allowed_updates"]
        return ok(info), "success"

    def _get_me(self, token: str, params: Mapping[str, Any]) -> tuple[Response, str]:
        return ok({"id": _bot_id(token), "is_bot": True, "first_name": "Sandbox Bot", "username": "sandbox_bot",
                   "can_join_groups": True, "can_read_all_group_messages": False,
                   "supports_inline_queries": False}), "success"

    def fail_response(self, behaviour: Behaviour) -> Response:
        code = behaviour.int_code_or(DEFAULT_FAIL_CODE)
        return telegram_error(code if 400 <= code <= 599 else DEFAULT_FAIL_CODE, behaviour.error_text)

    def throttle_response(self, behaviour: Behaviour) -> Response:
        retry_after = behaviour.retry_after_seconds()
        return telegram_error(
            429, behaviour.error_text or f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
        )

    # ---- updates -------------------------------------------------------------------------

    def callback_target(
        self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None
    ) -> CallbackTarget | None:
        if not registration or not registration.get("url"):
            return None
        secret = str(registration.get("secret_token") or "")
        headers = {TELEGRAM_SECRET_HEADER: secret} if secret else {}
        return CallbackTarget(url=str(registration["url"]), sign=lambda _body: dict(headers))

    def inbound_events(self, spec: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        if not registration:
            raise InboundError("no webhook set for this bot (call setWebhook first)", 409)
        sender = str(spec.get("from") or "")
        if not sender.lstrip("-").isdigit():
            raise InboundError("from must be the numeric Telegram user id")
        user = {"id": int(sender), "is_bot": False, "first_name": str(spec.get("name") or "Sandbox"),
                "language_code": "en"}
        chat = {"id": int(sender), "first_name": user["first_name"], "type": "private"}
        kind = str(spec.get("type") or "text")
        text = str(spec.get("text") or "")
        message: dict[str, Any] = {"message_id": self.state.next_int(), "from": user, "chat": chat,
                                   "date": epoch_seconds()}
        update: dict[str, Any] = {"update_id": self.state.next_int()}
        if kind == "text":
            if not text:
                raise InboundError("text is required")
            update["message"] = dict(message, text=text)
        elif kind in ("photo", "document"):
            content = _content("sendphoto" if kind == "photo" else "senddocument", {"caption": text})
            update["message"] = dict(message, **content)
        elif kind == "location":
            update["message"] = dict(message, location={"latitude": spec.get("latitude", 0),
                                                         "longitude": spec.get("longitude", 0)})
        elif kind == "callback":
            # The button sits under one of the bot's own messages.
            bot_message = dict(message, text=text or "Choose")
            bot_message["from"] = {"id": 0, "is_bot": True, "first_name": "Sandbox Bot"}
            update["callback_query"] = {
                "id": str(self.state.next_int()), "from": user, "chat_instance": secrets.token_hex(8),
                "message": bot_message, "data": str(spec.get("payload") or ""),
            }
        elif kind == "blocked":
            update["my_chat_member"] = {
                "chat": chat, "from": user, "date": epoch_seconds(),
                "old_chat_member": {"user": {"id": 0, "is_bot": True, "first_name": "Sandbox Bot"}, "status": "member"},
                "new_chat_member": {"user": {"id": 0, "is_bot": True, "first_name": "Sandbox Bot"},
                                    "status": "kicked", "until_date": 0},
            }
        else:
            raise InboundError(f"unsupported Telegram inbound type {kind!r}")
        allowed = registration.get("allowed_updates") or []
        update_type = next(k for k in update if k != "update_id")
        if allowed and update_type not in allowed:
            raise InboundError(f"the bot's allowed_updates exclude {update_type!r}", 409)
        return [{"event": update_type, "body": update}]
