"""Google Business Messages: sending with service-account OAuth, receipts and user messages.

Google shut GBM down on 31 July 2024; the Chat API still specifies it, so this adapter follows
Google's documented contract (docs/providers.md) and is exercised against the sandbox.

* ``messageId`` is our message id. Google treats it as an idempotency key, so a retry after a
  timeout cannot duplicate the message, and receipts name it, so they find the message directly.
* Access tokens come from the service account's JWT-bearer grant and are cached per process
  until shortly before they expire: one token call an hour instead of one per message.
* Callbacks are signed with the agent's client token (``X-Goog-Signature``); the one unsigned
  request, Google's webhook verification, proves itself by carrying that client token instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

import jwt
import requests
from django.conf import settings

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
    SendError,
    SendResult,
    StatusEvent,
)
from channels_app.providers.http import REDACTED, call_provider, redact, retry_after_seconds
from gateway.channels import Channel

SCOPE = "https://www.googleapis.com/auth/businessmessages"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (an endpoint, not a secret)
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 3600
# Renew this long before Google's expiry so a token never dies between cache read and use.
TOKEN_REFRESH_MARGIN_SECONDS = 120
SIGNATURE_HEADER = "X-Goog-Signature"

_RECEIPT_STATUSES = {"DELIVERED": "Delivered", "READ": "Read"}


# ---- OAuth ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a Google service-account key the JWT-bearer grant needs."""

    client_email: str
    private_key: str
    token_uri: str
    private_key_id: str = ""

    @classmethod
    def from_credential(cls, raw: str | Mapping[str, Any]) -> ServiceAccount:
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            data = None
        if not isinstance(data, Mapping) or not data.get("client_email") or not data.get("private_key"):
            raise ProviderConfigError(
                "invalid_service_account", "service_account_json is not a service-account key"
            )
        return cls(
            client_email=str(data["client_email"]),
            private_key=str(data["private_key"]),
            token_uri=str(data.get("token_uri") or DEFAULT_TOKEN_URI),
            private_key_id=str(data.get("private_key_id") or ""),
        )

    @property
    def cache_key(self) -> str:
        """Changes when the key is rotated, so a new key never reuses the old key's token."""
        material = "\n".join((self.client_email, self.token_uri, self.private_key))
        return hashlib.sha256(material.encode()).hexdigest()

    def assertion(self, now: int) -> str:
        claims = {
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
        }
        headers = {"kid": self.private_key_id} if self.private_key_id else None
        try:
            return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ProviderConfigError(
                "invalid_service_account", "the service account's private key is unusable"
            ) from exc


class TokenCache:
    """Access tokens by service account, shared by a process's threads.

    A lock per service account makes concurrent senders wait for one token call instead of
    each fetching its own; different accounts never wait on each other.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._fetch_locks: dict[str, threading.Lock] = {}

    def _valid(self, key: str) -> str | None:
        with self._lock:
            cached = self._tokens.get(key)
        return cached[0] if cached and cached[1] > time.monotonic() else None

    def get(self, key: str, fetch: Callable[[], tuple[str, float]]) -> str:
        """The cached token, or ``fetch()``'s (token, lifetime in seconds) stored and returned."""
        token = self._valid(key)
        if token:
            return token
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        with fetch_lock:
            token = self._valid(key)
            if token:
                return token
            token, lifetime = fetch()
            expires = time.monotonic() + max(0.0, lifetime - TOKEN_REFRESH_MARGIN_SECONDS)
            with self._lock:
                self._tokens[key] = (token, expires)
            return token

    def discard(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)


_token_cache = TokenCache()


def _token_error(
    response: requests.Response, payload: Mapping[str, Any], exchange: HttpExchange
) -> SendError:
    code = str(payload.get("error") or f"http_{response.status_code}")
    text = str(payload.get("error_description") or f"HTTP {response.status_code} from the token endpoint")
    if response.status_code == 429:
        return ProviderThrottled(code, text, exchange=exchange, retry_after=retry_after_seconds(response))
    if response.status_code >= 500:
        return ProviderUnavailable(code, text, exchange=exchange)
    # invalid_grant, invalid_client, unauthorized_client: the key or its permissions are wrong.
    return ProviderConfigError(code, text, exchange=exchange)


def fetch_access_token(session: requests.Session, account: ServiceAccount) -> tuple[str, float]:
    """Trade a signed assertion for an access token: (token, lifetime in seconds).

    A form POST, which ``call_provider`` does not send, so the exchange is recorded here with
    the assertion and the token redacted: either one would let a reader act as the account.
    """
    assertion = account.assertion(int(time.time()))
    exchange = HttpExchange(
        method="POST",
        url=account.token_uri,
        request_headers={"Content-Type": "application/x-www-form-urlencoded"},
        request_body={"grant_type": JWT_BEARER_GRANT, "assertion": REDACTED},
    )
    started = time.perf_counter()
    try:
        response = session.post(
            account.token_uri,
            data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion},
            timeout=(settings.PROVIDER_CONNECT_TIMEOUT, settings.PROVIDER_READ_TIMEOUT),
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        exchange.error = redact(f"timeout: {exc}", [assertion])
        raise ProviderUnavailable(
            "timeout", "the token endpoint did not answer in time", exchange=exchange
        ) from exc
    except requests.RequestException as exc:
        exchange.error = redact(f"{type(exc).__name__}: {exc}", [assertion])
        raise ProviderUnavailable(
            "connection", "could not reach the token endpoint", exchange=exchange
        ) from exc
    finally:
        exchange.duration_ms = (time.perf_counter() - started) * 1000
    payload = _json_object(response.content) or {}
    token = payload.get("access_token")
    exchange.status_code = response.status_code
    exchange.response_body = {
        k: (REDACTED if k in ("access_token", "id_token") else v) for k, v in payload.items()
    }
    if response.status_code != 200:
        raise _token_error(response, payload, exchange)
    if not token:
        raise ProviderUnavailable(
            "bad_response", "the token endpoint answered without a token", exchange=exchange
        )
    try:
        lifetime = float(payload.get("expires_in", ASSERTION_LIFETIME_SECONDS))
    except (TypeError, ValueError):
        lifetime = float(ASSERTION_LIFETIME_SECONDS)
    return str(token), lifetime


# ---- sending -------------------------------------------------------------------------------


def _compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, "")}


def _representative(given: Any, display_name: str) -> dict[str, Any]:
    rep = given if isinstance(given, Mapping) else {}
    return _compact({
        "representativeType": rep.get("representativeType") or "BOT",
        "displayName": rep.get("displayName") or display_name,
        "avatarImage": rep.get("avatarImage"),
    })


def _content_fields(content: Mapping[str, Any]) -> dict[str, Any]:
    """The one kind of content the message carries, in the API's shape."""
    text = content.get("text")
    if isinstance(text, Mapping):
        fields: dict[str, Any] = {"text": str(text.get("message", ""))}
        if text.get("containsRichText"):
            fields["containsRichText"] = True
        return fields
    image = content.get("image")
    if isinstance(image, Mapping):
        info = _compact({k: image.get(k) for k in ("fileUrl", "thumbnailUrl", "forceRefresh", "altText")})
        return {"image": {"contentInfo": info}}
    card = content.get("standaloneCard")
    if isinstance(card, Mapping):
        # The Chat API writes the card's content directly; accept the API's own nesting too.
        card_content = card["cardContent"] if isinstance(card.get("cardContent"), Mapping) else card
        return {"richCard": {"standaloneCard": {"cardContent": dict(card_content)}}}
    carousel = content.get("carouselCard")
    if isinstance(carousel, Mapping):
        return {"richCard": {"carouselCard": dict(carousel)}}
    raise ProviderRejected(
        "invalid_content", "GBM content needs text, image, standaloneCard or carouselCard"
    )


def _message_body(message: OutboundMessage, display_name: str) -> dict[str, Any]:
    content = message.content
    body: dict[str, Any] = {
        "messageId": str(message.id),
        "representative": _representative(content.get("representative"), display_name),
        **_content_fields(content),
    }
    if content.get("suggestions"):
        body["suggestions"] = list(content["suggestions"])
    if content.get("fallback"):
        body["fallback"] = str(content["fallback"])
    return body


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _error_class(http_status: int) -> type[SendError]:
    if http_status == 429:
        return ProviderThrottled
    if http_status >= 500:
        return ProviderUnavailable
    if http_status in (401, 403):
        return ProviderConfigError
    return ProviderRejected


def _last_segment(name: Any) -> str:
    return str(name).rsplit("/", 1)[-1] if name else ""


# ---- callbacks -----------------------------------------------------------------------------


def _verification_payload(body: bytes) -> Mapping[str, Any] | None:
    payload = _json_object(body)
    if payload is None or not isinstance(payload.get("secret"), str):
        return None
    return payload


def verification_secret(request: CallbackRequest) -> str | None:
    """The secret to echo when this is Google's webhook verification request, else ``None``."""
    payload = _verification_payload(request.body)
    return str(payload["secret"]) if payload is not None else None


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _uuid_or_none(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _receipt_events(payload: Mapping[str, Any]) -> list[CallbackEvent]:
    receipts = payload["receipts"]
    when = _timestamp(receipts.get("createTime") or payload.get("sendTime"))
    events: list[CallbackEvent] = []
    for receipt in receipts.get("receipts") or []:
        if not isinstance(receipt, Mapping):
            continue
        status = _RECEIPT_STATUSES.get(str(receipt.get("receiptType", "")))
        provider_id = _last_segment(receipt.get("message"))
        if status and provider_id:
            events.append(StatusEvent(
                status=status,
                provider_message_id=provider_id,
                message_id=_uuid_or_none(provider_id),
                occurred_at=when,
                raw=receipt,
            ))
    return events


def _sender_name(payload: Mapping[str, Any]) -> str:
    context = payload["context"] if isinstance(payload.get("context"), Mapping) else {}
    user = context["userInfo"] if isinstance(context.get("userInfo"), Mapping) else {}
    return str(user.get("displayName") or "")


def _message_content(message: Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(message.get("text"), str):
        return {"type": "text", "text": message["text"]}
    image = message.get("image")
    info = image.get("contentInfo") if isinstance(image, Mapping) else None
    if isinstance(info, Mapping) and info.get("fileUrl"):
        return _compact({"type": "image", "url": info["fileUrl"], "caption": info.get("altText")})
    return None


def _message_event(payload: Mapping[str, Any]) -> InboundEvent | None:
    message = payload["message"]
    content = _message_content(message)
    event_id = message.get("messageId") or _last_segment(message.get("name"))
    if content is None or not event_id or not payload.get("conversationId"):
        return None
    return InboundEvent(
        provider_event_id=str(event_id),
        sender=str(payload["conversationId"]),
        content=content,
        sender_name=_sender_name(payload),
        occurred_at=_timestamp(message.get("createTime") or payload.get("sendTime")),
        raw=payload,
    )


def _suggestion_event(payload: Mapping[str, Any]) -> InboundEvent | None:
    """A tap on a suggested reply or action. It carries no id of its own, so the event id is
    the message it answers plus its time: stable across Google's retries, distinct per tap."""
    response = payload["suggestionResponse"]
    if not payload.get("conversationId"):
        return None
    created = str(response.get("createTime") or payload.get("sendTime") or "")
    return InboundEvent(
        provider_event_id=f"{_last_segment(response.get('message'))}@{created}",
        sender=str(payload["conversationId"]),
        content={
            "type": "reply",
            "text": str(response.get("text", "")),
            "payload": str(response.get("postbackData", "")),
        },
        sender_name=_sender_name(payload),
        occurred_at=_timestamp(created),
        raw=payload,
    )


class GbmAdapter(ChannelAdapter):
    channel = Channel.GBM
    dedupes_on_our_id = True  # messageId is our id; a repeat answers "already exists"

    # ---- sending -------------------------------------------------------------------------

    def _access_token(self) -> tuple[str, str | None]:
        """(token, its cache key); a configured ``access_token`` is used as is and not cached."""
        credentials = self.account.credentials
        if credentials.get("access_token"):
            return credentials["access_token"], None
        if not credentials.get("service_account_json"):
            raise ProviderConfigError(
                "no_credentials", "neither access_token nor service_account_json is set"
            )
        service_account = ServiceAccount.from_credential(credentials["service_account_json"])
        token = _token_cache.get(
            service_account.cache_key, lambda: fetch_access_token(self.session, service_account)
        )
        return token, service_account.cache_key

    def send(self, message: OutboundMessage) -> SendResult:
        body = _message_body(message, self.account.display_name or self.account.sender)
        token, cache_key = self._access_token()
        url = f"{self.base_url}/v1/conversations/{quote(message.destination, safe='')}/messages"
        if message.content.get("forceFallback"):
            url += "?forceFallback=true"
        response, exchange = call_provider(
            self.session,
            "POST",
            url,
            secrets=[token],
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            json_body=body,
        )
        payload = _json_object(response.content) or {}
        error = payload["error"] if isinstance(payload.get("error"), Mapping) else {}
        if response.status_code == 200:
            provider_id = _last_segment(payload.get("name")) or body["messageId"]
            return SendResult(provider_message_id=provider_id, exchange=exchange)
        if response.status_code == 409 and error.get("status") == "ALREADY_EXISTS":
            # Our messageId is already there: an earlier attempt got through before timing out.
            return SendResult(provider_message_id=body["messageId"], exchange=exchange)
        if response.status_code == 401 and cache_key:
            _token_cache.discard(cache_key)
        error_class = _error_class(response.status_code)
        raise error_class(
            str(error.get("status") or f"http_{response.status_code}"),
            str(error.get("message") or f"HTTP {response.status_code} from Business Messages"),
            exchange=exchange,
            retry_after=retry_after_seconds(response) if error_class is ProviderThrottled else None,
        )

    # ---- callbacks -----------------------------------------------------------------------

    def verify_callback(self, request: CallbackRequest) -> None:
        client_token = self.account.credentials.get("client_token", "")
        if not client_token:
            raise CallbackRejected("no client token configured to verify GBM callbacks")
        signature = request.header(SIGNATURE_HEADER).strip()
        if signature:
            digest = hmac.new(client_token.encode(), request.body, hashlib.sha512).digest()
            if not hmac.compare_digest(signature.encode(), base64.b64encode(digest)):
                raise CallbackRejected(f"{SIGNATURE_HEADER} does not match the body")
            return
        verification = _verification_payload(request.body)
        given = str(verification.get("clientToken", "")) if verification else ""
        if not given or not hmac.compare_digest(given.encode(), client_token.encode()):
            raise CallbackRejected(f"missing {SIGNATURE_HEADER}")

    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        """Receipts, user messages and suggestion taps; typing, surveys and the webhook
        verification request produce no event."""
        payload = _json_object(request.body)
        if payload is None:
            raise ValueError("GBM callback body is not a JSON object")
        if isinstance(payload.get("receipts"), Mapping):
            return _receipt_events(payload)
        event: InboundEvent | None = None
        if isinstance(payload.get("message"), Mapping):
            event = _message_event(payload)
        elif isinstance(payload.get("suggestionResponse"), Mapping):
            event = _suggestion_event(payload)
        return [event] if event is not None else []
