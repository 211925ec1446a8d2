"""Access tokens for a GBM service account, minted by google-auth and cached per process.

google-auth signs the JWT-bearer assertion and reads the token endpoint's answer; the call goes
through our pooled session (``TokenTransport``), so it takes the provider proxy and timeouts,
leaves a redacted exchange record and is classified like every other provider call. Tokens are
cached until shortly before they expire: one token call an hour instead of one per message.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import google.auth.exceptions
import google.auth.transport.requests
import requests
from django.conf import settings
from google.oauth2 import service_account

from channels_app.providers.answers import AnswerError, classify_http_answer
from channels_app.providers.base import HttpExchange, ProviderConfigError, ProviderUnavailable, SendError
from channels_app.providers.http import REDACTED, redact

SCOPE = "https://www.googleapis.com/auth/businessmessages"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (an endpoint, not a secret)
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600
# Renew this long before Google's expiry so a token never dies between cache read and use.
TOKEN_REFRESH_MARGIN_SECONDS = 120
# Form fields and answer fields that would let a reader act as the account.
_SECRET_FIELDS = frozenset({"assertion", "access_token", "id_token"})


@dataclass(frozen=True)
class ServiceAccount:
    """A service-account key as configured (``service_account_json``), checked but not yet parsed
    into a signer: that costs an RSA key load, which only a token fetch needs."""

    client_email: str
    private_key: str
    token_uri: str
    info: Mapping[str, Any] = field(repr=False, compare=False)

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
        token_uri = str(data.get("token_uri") or DEFAULT_TOKEN_URI)
        return cls(
            client_email=str(data["client_email"]),
            private_key=str(data["private_key"]),
            token_uri=token_uri,
            info={**data, "token_uri": token_uri},
        )

    @property
    def cache_key(self) -> str:
        """Changes when the key is rotated, so a new key never reuses the old key's token."""
        material = "\n".join((self.client_email, self.token_uri, self.private_key))
        return hashlib.sha256(material.encode()).hexdigest()

    def credentials(self) -> service_account.Credentials:
        try:
            return service_account.Credentials.from_service_account_info(dict(self.info), scopes=[SCOPE])
        except (ValueError, TypeError, KeyError) as exc:
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


token_cache = TokenCache()


class TokenTransport(google.auth.transport.requests.Request):
    """google-auth's requests transport on our session, recording the token call and raising
    the ``SendError`` a failed one amounts to.

    Failing here, before google-auth reads the answer, keeps google-auth's own retry loop
    (backoff on 5xx and 429) out of a send: a retry is the dispatcher's decision, and the status
    and Retry-After it needs are only visible here.
    """

    def __init__(self, session: requests.Session) -> None:
        super().__init__(session=session)
        self.exchange: HttpExchange | None = None

    def __del__(self) -> None:
        # The parent closes its session when collected; ours is the process-wide pool.
        pass

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> google.auth.transport.Response:
        # A urlencoded form is ASCII; sent as text it goes out exactly as a hand-written form post.
        form = body.decode("ascii") if isinstance(body, bytes) else body
        fields = dict(parse_qsl(form)) if isinstance(form, str) else {}
        secrets = [fields[name] for name in _SECRET_FIELDS if fields.get(name)]
        self.exchange = exchange = HttpExchange(
            method=method.upper(),
            url=url,
            request_headers=dict(headers or {}),
            request_body={k: (REDACTED if k in _SECRET_FIELDS else v) for k, v in fields.items()},
        )
        started = time.perf_counter()
        try:
            response = super().__call__(
                url, method=method, body=form, headers=headers, allow_redirects=False,
                timeout=(settings.PROVIDER_CONNECT_TIMEOUT, settings.PROVIDER_READ_TIMEOUT), **kwargs,
            )
        except google.auth.exceptions.TransportError as exc:
            cause = exc.__cause__ or exc
            timed_out = isinstance(cause, requests.Timeout)
            exchange.error = redact(f"timeout: {cause}" if timed_out else f"{type(cause).__name__}: {cause}", secrets)
            raise (
                ProviderUnavailable("timeout", "the token endpoint did not answer in time", exchange=exchange)
                if timed_out
                else ProviderUnavailable("connection", "could not reach the token endpoint", exchange=exchange)
            ) from exc
        finally:
            exchange.duration_ms = (time.perf_counter() - started) * 1000
        payload = _json_object(response.data)
        exchange.status_code = response.status
        exchange.response_body = {k: (REDACTED if k in _SECRET_FIELDS else v) for k, v in payload.items()}
        if response.status != 200:
            raise _token_error(response.status, response.headers, payload, exchange)
        if not payload.get("access_token"):
            raise ProviderUnavailable(
                "bad_response", "the token endpoint answered without a token", exchange=exchange
            )
        return response


def _token_error(
    status: int, headers: Mapping[str, str], payload: Mapping[str, Any], exchange: HttpExchange
) -> SendError:
    """Throttling and outages by the status; any other refusal (invalid_grant, invalid_client,
    unauthorized_client) means the key or its permissions are wrong."""
    reported = AnswerError(
        str(payload.get("error") or ""),
        str(payload.get("error_description") or ""),
        None if status == 429 or status >= 500 else ProviderConfigError,
    )
    error = classify_http_answer(
        status, headers, reported=reported, exchange=exchange, provider_name="the token endpoint"
    )
    # Never None: an answer with a reported error is never a success.
    return error or ProviderConfigError(f"http_{status}", "the token endpoint refused", exchange=exchange)


def fetch_access_token(session: requests.Session, account: ServiceAccount) -> tuple[str, float]:
    """A new access token for the account: (token, lifetime in seconds)."""
    credentials = account.credentials()
    transport = TokenTransport(session)
    try:
        credentials.refresh(transport)
    except (google.auth.exceptions.RefreshError, ValueError, TypeError) as exc:
        # The transport has already refused every failed answer; this is a 200 google-auth cannot read.
        raise ProviderUnavailable(
            "bad_response", "unreadable answer from the token endpoint", exchange=transport.exchange
        ) from exc
    if credentials.expiry is None:
        return str(credentials.token), float(DEFAULT_TOKEN_LIFETIME_SECONDS)
    # google-auth keeps expiry as a naive UTC datetime.
    lifetime = (credentials.expiry - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
    return str(credentials.token), lifetime


def _json_object(raw: bytes | str | None) -> dict[str, Any]:
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
