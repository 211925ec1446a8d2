"""Viber REST Bot API: sending, webhook management and callbacks.

A Viber traffic account is a bot (this adapter) or a Business Messages sender
(``business.py`` beside this module); ``TrafficAccount.viber_kind`` says which. A bot's ``receiver`` is the id
Viber gave the user for this bot, never a phone number: the API refuses phone numbers for bot
accounts when a message is accepted (Viber would answer status 5, receiverNotRegistered).

* ``type``: a bot account takes ``regular`` and ``session`` (its 1-on-1 chat is a session);
  ``transactional``/``promotional`` and ``ttl`` are Business Messages settings with no Bot API
  field, so the API refuses them for bot accounts rather than dropping them.
* ``button{caption, action}`` becomes a one-button keyboard (ActionType ``open-url``) and not a
  ``rich_media`` card. A rich-media card lays the text out in fixed grid cells, so a
  text of up to 1000 characters would be cut off, and it needs a newer client
  (``min_api_version``) plus ``alt_text`` for older ones. A keyboard keeps the text and picture
  messages untouched, works on every client, and Viber replaces it with the next message's
  keyboard (or none), so it stays tied to this message. A customer keyboard sent together with
  a button keeps its own buttons and gets the CTA appended.
* A keyboard alone goes out as the official SDKs' ``KeyboardMessage``: the keyboard, tracking
  data and ``min_api_version`` without a message ``type`` (a keyboard is not a message type).

Viber answers HTTP 200 even for refusals; the verdict is the ``status`` field of the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings

from channels_app.providers.answers import AnswerError, json_object
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
    ProviderRequest,
    ProviderThrottled,
    ProviderUnavailable,
    SendError,
    SendResult,
    StatusEvent,
    UserStateEvent,
)
from gateway.channels import Channel
from gateway.safe_transport import safe_session
from gateway.url_safety import WebhookUrlRefused, url_parts

AUTH_HEADER = "X-Viber-Auth-Token"
SIGNATURE_HEADER = "X-Viber-Content-Signature"
SENDER_NAME_MAX = 28
# A customer keyboard may use any documented keyboard property, some of which only newer clients
# render. Declaring the current API level makes Viber refuse the message (status 13/14) instead
# of showing a broken keyboard. Our own one-button keyboard only uses level-1 properties.
KEYBOARD_MIN_API_VERSION = 7

# send_message ``status`` values (README.md in this package); anything unknown refuses the message.
_THROTTLED_STATUSES = frozenset({12})
_CONFIG_STATUSES = frozenset({1, 2, 7, 8, 9, 10})

_DELIVERY_EVENTS = {"delivered": "Delivered", "seen": "Read", "failed": "Failed"}
_MEDIA_KINDS = {"picture": "image", "video": "video", "file": "document"}
_FILENAME_PATTERN = re.compile(r"[^/]+\.[A-Za-z0-9]{1,10}$")


def _status_error_class(status: int) -> type[SendError]:
    if status in _THROTTLED_STATUSES:
        return ProviderThrottled
    if status in _CONFIG_STATUSES:
        return ProviderConfigError
    return ProviderRejected


def _filename_from_url(url: str) -> str:
    """The last path segment when it looks like a file name (the Chat API lets it be implied)."""
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return segment if _FILENAME_PATTERN.fullmatch(segment) else ""


def _given_size(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ProviderRejected("invalid_content", "file.size must be a number of bytes") from None
    if size <= 0:
        raise ProviderRejected("invalid_content", "file.size must be positive")
    return size


def _content_length(response: requests.Response) -> int | None:
    if not 200 <= response.status_code < 300:  # a redirect's length is its own body's, not the file's
        return None
    try:
        size = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return size if size > 0 else None


def _button_keyboard(button: Mapping[str, Any], keyboard: Mapping[str, Any] | None) -> dict[str, Any]:
    cta = {
        "Columns": 6,
        "Rows": 1,
        "ActionType": "open-url",
        "ActionBody": str(button.get("action", "")),
        "Text": str(button.get("caption", "")),
    }
    if keyboard:
        merged = {**dict(keyboard), "Type": "keyboard"}
        merged["Buttons"] = [*list(keyboard.get("Buttons") or []), cta]
        return merged
    return {"Type": "keyboard", "DefaultHeight": False, "Buttons": [cta]}


def _timestamp_ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, "")}


def _inbound_content(message: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(message.get("type", ""))
    if kind == "text":
        return {"type": "text", "text": str(message.get("text", ""))}
    if kind in _MEDIA_KINDS:
        return _compact({
            "type": _MEDIA_KINDS[kind], "url": message.get("media"), "caption": message.get("text"),
            "filename": message.get("file_name"), "size": message.get("size"),
        })
    if kind == "location":
        location = message["location"] if isinstance(message.get("location"), Mapping) else {}
        return {"type": "location", "latitude": location.get("lat"), "longitude": location.get("lon")}
    if kind == "contact":
        contact = message["contact"] if isinstance(message.get("contact"), Mapping) else {}
        return _compact({
            "type": "contact", "name": contact.get("name"), "phoneNumber": contact.get("phone_number"),
        })
    if kind == "sticker":
        return _compact(
            {"type": "sticker", "stickerId": message.get("sticker_id"), "url": message.get("media")}
        )
    if kind == "url":
        # A shared link is text to the agent.
        return {"type": "text", "text": str(message.get("media", ""))}
    return {"type": "unsupported", "providerType": kind}


def _user_id(payload: Mapping[str, Any]) -> str:
    user = payload.get("user")
    if isinstance(user, Mapping) and user.get("id"):
        return str(user["id"])
    return str(payload.get("user_id", ""))


def _event_from_payload(payload: Mapping[str, Any]) -> CallbackEvent | None:
    event = str(payload.get("event", ""))
    if event in _DELIVERY_EVENTS:
        failed = event == "failed"
        return StatusEvent(
            status=_DELIVERY_EVENTS[event],
            provider_message_id=str(payload.get("message_token", "")),
            occurred_at=_timestamp_ms(payload.get("timestamp")),
            error_text=str(payload.get("desc", "")) if failed else "",
            raw=payload,
        )
    if event in ("subscribed", "conversation_started", "unsubscribed"):
        user = _user_id(payload)
        if not user:
            return None
        return UserStateEvent(user=user, reachable=event != "unsubscribed", reason=event, raw=payload)
    if event == "message":
        sender = payload["sender"] if isinstance(payload.get("sender"), Mapping) else {}
        message = payload["message"] if isinstance(payload.get("message"), Mapping) else {}
        if not sender.get("id") or payload.get("message_token") is None:
            return None
        return InboundEvent(
            provider_event_id=str(payload["message_token"]),
            sender=str(sender["id"]),
            content=_inbound_content(message),
            sender_name=str(sender.get("name", "")),
            occurred_at=_timestamp_ms(payload.get("timestamp")),
            raw=payload,
        )
    # "webhook" (Viber's reachability check after set_webhook) and unknown events: acknowledge only.
    return None


class ViberAdapter(ChannelAdapter):
    channel = Channel.VIBER
    sensitive_headers = frozenset({AUTH_HEADER.lower()})
    provider_name = "Viber"

    @property
    def _auth_token(self) -> str:
        return self.account.credentials.get("auth_token", "")

    def _request(self, path: str, body: Mapping[str, Any]) -> ProviderRequest:
        return ProviderRequest(
            "POST",
            f"{self.base_url}/pa/{path}",
            json=body,
            headers={AUTH_HEADER: self._auth_token, "Content-Type": "application/json"},
            secrets=(self._auth_token,),
        )

    def _call(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """The body of a ``status: 0`` answer, else the classified ``SendError``."""
        response, _ = self.perform(self._request(path, body))
        return json_object(response) or {}

    # ---- sending -------------------------------------------------------------------------

    def build_request(self, message: OutboundMessage) -> ProviderRequest:
        return self._request("send_message", self._message_body(message))

    def answer_error(self, response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
        """Viber's verdict is the ``status`` of a 200's body; any other HTTP status is an error
        the status classifies."""
        if response.status_code != 200:
            return AnswerError()
        if payload is None or "status" not in payload:
            # Accepted or not is unknown; a retry risks a duplicate, giving up risks a loss.
            return AnswerError("bad_response", "Viber answered without a status", ProviderUnavailable)
        try:
            status = int(payload["status"])
        except (TypeError, ValueError):
            status = -1
        if status == 0:
            return None
        return AnswerError(
            str(payload["status"]),
            str(payload.get("status_message") or "Viber refused the request"),
            _status_error_class(status),
        )

    def parse_answer(
        self, message: OutboundMessage, response: requests.Response, exchange: HttpExchange
    ) -> SendResult:
        token = (json_object(response) or {}).get("message_token")
        if token is None:
            raise ProviderUnavailable("bad_response", "no message_token in the answer", exchange=exchange)
        return SendResult(provider_message_id=str(token), exchange=exchange)

    def _message_body(self, message: OutboundMessage) -> dict[str, Any]:
        content = message.content
        sender_name = self.account.display_name or self.account.sender
        body: dict[str, Any] = {
            "receiver": message.destination,
            "sender": {"name": sender_name[:SENDER_NAME_MAX]},
            "tracking_data": str(message.id),
        }
        keyboard = content.get("keyboard") if isinstance(content.get("keyboard"), Mapping) else None
        button = content.get("button") if isinstance(content.get("button"), Mapping) else None
        typed = self._typed_fields(content)
        if not typed and not keyboard:
            raise ProviderRejected("invalid_content", "Viber content needs text, mediaUrl, file or keyboard")
        # A keyboard alone is a message without a type (the official SDK's KeyboardMessage).
        body.update(typed)
        if button:
            body["keyboard"] = _button_keyboard(button, keyboard)
        elif keyboard:
            # Viber refuses a keyboard object without its own "Type": "keyboard" (the bot API's
            # schema marks it required); customers copying the guide's examples often leave it out.
            body["keyboard"] = {**dict(keyboard), "Type": "keyboard"}
        if keyboard:
            body["min_api_version"] = KEYBOARD_MIN_API_VERSION
        return body

    def _typed_fields(self, content: Mapping[str, Any]) -> dict[str, Any]:
        text = str(content.get("text") or "")
        media_url = str(content.get("mediaUrl") or "")
        file = content.get("file") if isinstance(content.get("file"), Mapping) else None
        if file:
            return self._file_fields(file)
        if media_url:
            return {"type": "picture", "media": media_url, "text": text}
        if text:
            return {"type": "text", "text": text}
        return {}

    def _file_fields(self, file: Mapping[str, Any]) -> dict[str, Any]:
        url = str(file.get("mediaUrl") or "")
        if not url:
            raise ProviderRejected("invalid_content", "file.mediaUrl is required")
        file_name = str(file.get("fileName") or "") or _filename_from_url(url)
        if not file_name:
            raise ProviderRejected("invalid_content", "file.fileName is required: the URL names no file")
        return {
            "type": "file",
            "media": url,
            "file_name": file_name,
            "size": _given_size(file.get("size")) or self._remote_size(url),
        }

    def _remote_size(self, url: str) -> int:
        """The file's byte size from its host, since Viber requires ``size`` and 0 is a lie.

        HEAD first; hosts that refuse HEAD or omit the length (signed storage URLs) get a GET
        whose body is never read. Network trouble is retryable, an unknown size is not.

        The URL is the customer's, so it goes through the same address-checked transport as
        webhooks (no private networks unless the operator allows them, no redirects, no cookies),
        never through the provider session, which carries every tenant's provider calls.
        """
        try:
            url_parts(url)
        except WebhookUrlRefused as exc:
            raise ProviderRejected("invalid_content", f"file.mediaUrl is not acceptable: {exc}") from None
        timeout = (settings.PROVIDER_CONNECT_TIMEOUT, settings.PROVIDER_READ_TIMEOUT)
        session = safe_session()
        try:
            response = session.head(url, allow_redirects=False, timeout=timeout)
            size = _content_length(response)
            if size is None:
                with session.get(url, stream=True, allow_redirects=False, timeout=timeout) as streamed:
                    size = _content_length(streamed)
        except WebhookUrlRefused:
            raise ProviderRejected(
                "media_url_refused", "file.mediaUrl points to an address the gateway does not fetch from"
            ) from None
        except requests.RequestException as exc:
            raise ProviderUnavailable("media_unreachable", "could not read the file's size") from exc
        if size is None:
            raise ProviderRejected("file_size_unknown", "the file host does not report the file's size")
        return size

    # ---- webhook management --------------------------------------------------------------

    def set_webhook(
        self, *, url: str, event_types: list[str] | None = None, send_name: bool = True
    ) -> dict[str, Any]:
        """Point the bot at ``url``. Viber calls it (event ``webhook``) before answering, so
        the callback endpoint must already answer 200. ``send_name`` gives us sender names."""
        body: dict[str, Any] = {"url": url, "send_name": send_name, "send_photo": False}
        if event_types is not None:
            body["event_types"] = list(event_types)
        return self._call("set_webhook", body)

    def remove_webhook(self) -> dict[str, Any]:
        """Viber's way to remove a webhook (and close 1-on-1 chats) is an empty URL."""
        return self._call("set_webhook", {"url": ""})

    def get_account_info(self) -> dict[str, Any]:
        """The bot's profile, including the ``webhook`` it currently posts to."""
        return self._call("get_account_info", {})

    def register_webhook(self, *, url: str, secret: str) -> dict[str, Any]:
        # Viber signs callbacks with the bot's auth token: there is no secret of ours to give.
        return self.set_webhook(url=url)

    def registered_webhook(self) -> dict[str, Any]:
        return self.get_account_info()

    def unregister_webhook(self) -> dict[str, Any]:
        return self.remove_webhook()

    # ---- callbacks -----------------------------------------------------------------------

    def verify_callback(self, request: CallbackRequest) -> None:
        if not self._auth_token:
            raise CallbackRejected("no auth token configured to verify Viber callbacks")
        signature = request.header(SIGNATURE_HEADER).strip().lower()
        if not signature:
            raise CallbackRejected(f"missing {SIGNATURE_HEADER}")
        expected = hmac.new(self._auth_token.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise CallbackRejected(f"{SIGNATURE_HEADER} does not match the body")

    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        payload = json.loads(request.body)
        if not isinstance(payload, Mapping):
            raise ValueError("Viber callback body is not a JSON object")
        event = _event_from_payload(payload)
        return [event] if event is not None else []
