"""Telegram Bot API: sending, webhook management and updates.

The bot token is the only credential and it travels in the URL path (``/bot<token>/<method>``),
so every call hands it to ``call_provider`` as a secret: the recorded exchange, including any
connection-error text, shows ``***`` instead. Bots get no delivery or read receipts, so the
provider's ``ok: true`` is the message's final state (the Chat API's "Ready" becomes Sent and ends there).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests

from channels_app.providers.answers import AnswerError, http_error_class, json_object
from channels_app.providers.base import (
    CallbackEvent,
    CallbackRejected,
    CallbackRequest,
    ChannelAdapter,
    HttpExchange,
    InboundEvent,
    OutboundMessage,
    ProviderRejected,
    ProviderRequest,
    ProviderUnavailable,
    SendResult,
    UserStateEvent,
)
from gateway.channels import Channel

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)

# The Chat API's parseMode values (docs/chat-api.md) (case-insensitive) -> Bot API parse_mode; Default sends none.
_PARSE_MODES: dict[str, str | None] = {
    "default": None,
    "markdown": "Markdown",
    "html": "HTML",
    "markdownv2": "MarkdownV2",
}
# Chat API media key -> (Bot API method, the method's file field).
_MEDIA_METHODS: dict[str, tuple[str, str]] = {
    "photo": ("sendPhoto", "photo"),
    "document": ("sendDocument", "document"),
    "video": ("sendVideo", "video"),
    "voice": ("sendVoice", "voice"),
}
# my_chat_member statuses: whether the bot can still post to the chat.
_MEMBER_REACHABLE = {"member": True, "administrator": True, "creator": True, "kicked": False, "left": False}
_NUMERIC_CHAT_ID = re.compile(r"-?\d+")
# The Bot API answers 401 or 404 for a wrong bot token; 403 is a user who blocked the bot (a refusal).
_CONFIG_CODES = frozenset({401, 404})


def _answer_error(response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
    """``ok: true`` is a success; ``ok: false`` carries ``error_code``, which decides the class as
    an HTTP status would (it mirrors one), and ``parameters.retry_after`` for throttling."""
    payload = payload or {}
    if response.status_code == 200 and payload.get("ok") is True:
        return None
    if response.status_code < 300 and payload.get("ok") is not False:
        # Accepted or not is unknown; a retry risks a duplicate, giving up risks a loss.
        return AnswerError("bad_response", "Telegram answered without a verdict", ProviderUnavailable)
    try:
        code = int(payload.get("error_code") or response.status_code)
    except (TypeError, ValueError):
        code = response.status_code
    parameters = _mapping(payload.get("parameters"))
    description = str(payload.get("description") or f"HTTP {response.status_code} from Telegram")
    if parameters.get("migrate_to_chat_id") is not None:
        description = f"{description} (the group is now chat {parameters['migrate_to_chat_id']})"
    try:
        retry_after: float | None = float(parameters["retry_after"])
    except (KeyError, TypeError, ValueError):
        retry_after = None
    return AnswerError(
        str(code),
        description,
        http_error_class(code, _CONFIG_CODES) or ProviderRejected,
        retry_after=retry_after,
    )


def _parse_mode(value: Any) -> str | None:
    if value in (None, ""):
        return None
    key = str(value).lower()
    if key not in _PARSE_MODES:
        raise ProviderRejected("invalid_content", f"unknown parseMode {value!r}")
    return _PARSE_MODES[key]


def _chat_id(destination: str) -> int | str:
    """Numeric chat ids as numbers (the Bot API type), ``@channelname`` as given."""
    return int(destination) if _NUMERIC_CHAT_ID.fullmatch(destination) else destination


def _method_and_fields(content: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    text = content.get("text")
    if isinstance(text, Mapping):
        fields: dict[str, Any] = {"text": str(text.get("message", ""))}
        if text.get("noPreview"):
            fields["link_preview_options"] = {"is_disabled": True}
        return "sendMessage", _with_parse_mode(fields, text.get("parseMode"))
    for key, (method, file_field) in _MEDIA_METHODS.items():
        media = content.get(key)
        if isinstance(media, Mapping):
            fields = {file_field: str(media.get("url", ""))}
            if media.get("caption"):
                fields["caption"] = str(media["caption"])
            return method, _with_parse_mode(fields, media.get("parseMode"))
    location = content.get("location")
    if isinstance(location, Mapping):
        return "sendLocation", {"latitude": location.get("latitude"), "longitude": location.get("longitude")}
    raise ProviderRejected(
        "invalid_content", "Telegram content needs text, photo, document, video, voice or location"
    )


def _with_parse_mode(fields: dict[str, Any], parse_mode: Any) -> dict[str, Any]:
    mode = _parse_mode(parse_mode)
    if mode:
        fields["parse_mode"] = mode
    return fields


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, "")}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _display_name(user: Mapping[str, Any]) -> str:
    name = " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k))
    return name or str(user.get("username") or "")


def _message_content(message: Mapping[str, Any]) -> dict[str, Any]:
    caption = message.get("caption")
    if "text" in message:
        return {"type": "text", "text": str(message["text"])}
    photos = [p for p in message.get("photo") or [] if isinstance(p, Mapping)]
    if photos:
        largest = max(photos, key=lambda p: (p.get("width", 0) * p.get("height", 0), p.get("file_size", 0)))
        return _compact({"type": "image", "fileId": largest.get("file_id"), "caption": caption})
    for key, kind in (("document", "document"), ("video", "video"), ("voice", "audio"), ("audio", "audio")):
        media = message.get(key)
        if isinstance(media, Mapping):
            return _compact({
                "type": kind, "fileId": media.get("file_id"), "caption": caption,
                "filename": media.get("file_name"), "mimeType": media.get("mime_type"),
            })
    location = message.get("location")
    if isinstance(location, Mapping):
        return {
            "type": "location", "latitude": location.get("latitude"), "longitude": location.get("longitude"),
        }
    contact = message.get("contact")
    if isinstance(contact, Mapping):
        return _compact({
            "type": "contact", "name": _display_name(contact), "phoneNumber": contact.get("phone_number"),
        })
    sticker = message.get("sticker")
    if isinstance(sticker, Mapping):
        return _compact({"type": "sticker", "fileId": sticker.get("file_id"), "emoji": sticker.get("emoji")})
    return {"type": "unsupported"}


def _message_event(update: Mapping[str, Any], message: Mapping[str, Any]) -> InboundEvent | None:
    chat = _mapping(message.get("chat"))
    if chat.get("id") is None:
        return None
    return InboundEvent(
        provider_event_id=str(update.get("update_id", "")),
        sender=str(chat["id"]),
        content=_message_content(message),
        sender_name=_display_name(_mapping(message.get("from"))),
        occurred_at=_timestamp(message.get("edit_date") or message.get("date")),
        raw=update,
    )


def _callback_query_event(update: Mapping[str, Any], query: Mapping[str, Any]) -> InboundEvent:
    """A tap on an inline button: ``data`` is the button's payload, the text is the message's."""
    message = _mapping(query.get("message"))
    sender = _mapping(query.get("from"))
    chat_id = _mapping(message.get("chat")).get("id")
    return InboundEvent(
        provider_event_id=str(update.get("update_id", "")),
        sender=str(chat_id if chat_id is not None else sender.get("id", "")),
        content={
            "type": "reply", "payload": str(query.get("data", "")), "text": str(message.get("text", "")),
        },
        sender_name=_display_name(sender),
        occurred_at=_timestamp(message.get("date")),
        raw=update,
    )


def _member_event(update: Mapping[str, Any], change: Mapping[str, Any]) -> UserStateEvent | None:
    """The bot's own membership changed: ``kicked`` in a private chat means the user blocked it."""
    status = str(_mapping(change.get("new_chat_member")).get("status", ""))
    chat_id = _mapping(change.get("chat")).get("id")
    if status not in _MEMBER_REACHABLE or chat_id is None:
        return None
    return UserStateEvent(user=str(chat_id), reachable=_MEMBER_REACHABLE[status], reason=status, raw=update)


def _update_event(update: Mapping[str, Any]) -> CallbackEvent | None:
    for key in ("message", "edited_message"):
        if isinstance(update.get(key), Mapping):
            return _message_event(update, update[key])
    if isinstance(update.get("callback_query"), Mapping):
        return _callback_query_event(update, update["callback_query"])
    if isinstance(update.get("my_chat_member"), Mapping):
        return _member_event(update, update["my_chat_member"])
    return None


class TelegramAdapter(ChannelAdapter):
    channel = Channel.TELEGRAM
    provider_name = "Telegram"
    config_statuses = _CONFIG_CODES

    @property
    def _bot_token(self) -> str:
        return self.account.credentials.get("bot_token", "")

    def _request(self, method: str, body: Mapping[str, Any], *, secret_token: str = "") -> ProviderRequest:
        return ProviderRequest(
            "POST",
            f"{self.base_url}/bot{self._bot_token}/{method}",
            json=body,
            headers={"Content-Type": "application/json"},
            secrets=(self._bot_token, secret_token or self.account.credentials.get("secret_token", "")),
        )

    def _call(self, method: str, body: Mapping[str, Any], *, secret_token: str = "") -> dict[str, Any]:
        response, _ = self.perform(self._request(method, body, secret_token=secret_token))
        return json_object(response) or {}

    # ---- sending -------------------------------------------------------------------------

    def build_request(self, message: OutboundMessage) -> ProviderRequest:
        method, fields = _method_and_fields(message.content)
        body: dict[str, Any] = {"chat_id": _chat_id(message.destination), **fields}
        if message.content.get("silent"):
            body["disable_notification"] = True
        return self._request(method, body)

    def answer_error(self, response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
        return _answer_error(response, payload)

    def parse_answer(
        self, message: OutboundMessage, response: requests.Response, exchange: HttpExchange
    ) -> SendResult:
        message_id = _mapping((json_object(response) or {}).get("result")).get("message_id")
        if message_id is None:
            raise ProviderUnavailable("bad_response", "no message_id in the answer", exchange=exchange)
        return SendResult(provider_message_id=str(message_id), exchange=exchange, final=True)

    # ---- webhook management --------------------------------------------------------------

    def set_webhook(
        self, *, url: str, secret_token: str, allowed_updates: list[str] | None = None
    ) -> dict[str, Any]:
        """Register ``url``; Telegram then sends ``secret_token`` in every update's header."""
        body: dict[str, Any] = {"url": url, "secret_token": secret_token}
        if allowed_updates is not None:
            body["allowed_updates"] = list(allowed_updates)
        return self._call("setWebhook", body, secret_token=secret_token)

    def get_webhook_info(self) -> dict[str, Any]:
        """Telegram's answer; ``result`` holds the URL, pending updates and the last error."""
        return self._call("getWebhookInfo", {})

    def delete_webhook(self) -> dict[str, Any]:
        return self._call("deleteWebhook", {})

    def register_webhook(self, *, url: str, secret: str) -> dict[str, Any]:
        return self.set_webhook(url=url, secret_token=secret)

    def registered_webhook(self) -> dict[str, Any]:
        """The ``result`` of getWebhookInfo (URL, pending updates, last error)."""
        payload = self.get_webhook_info()
        result = payload.get("result")
        return dict(result) if isinstance(result, dict) else payload

    def unregister_webhook(self) -> dict[str, Any]:
        return self.delete_webhook()

    # ---- callbacks -----------------------------------------------------------------------

    def verify_callback(self, request: CallbackRequest) -> None:
        expected = self.account.credentials.get("secret_token", "")
        if not expected:
            raise CallbackRejected("no secret token configured to verify Telegram updates")
        given = request.header(SECRET_HEADER)
        if not given:
            raise CallbackRejected(f"missing {SECRET_HEADER}")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise CallbackRejected(f"{SECRET_HEADER} does not match")

    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        """One update, one event at most; update kinds the gateway does not use are skipped."""
        update = json.loads(request.body)
        if not isinstance(update, Mapping):
            raise ValueError("Telegram update is not a JSON object")
        event = _update_event(update)
        return [event] if event is not None else []
