"""Pooled HTTP to providers, with the attempt log and network-error classification in one place.

One ``requests.Session`` per process keeps TCP/TLS connections alive across messages; the
pool is sized for the worker's concurrency so threads do not queue for a socket. The session is
shared by every tenant's traffic accounts, so it keeps no cookies: one provider answer must not
ride along on another tenant's next call. Customer-supplied URLs never go through it (see
``gateway.safe_transport.safe_session``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from channels_app.providers.base import HttpExchange, ProviderAmbiguous, ProviderUnavailable
from gateway.cookies import RejectAllCookies

_session_lock = threading.Lock()
_session: requests.Session | None = None

REDACTED = "***"
# Masked in every recorded exchange; a provider's own auth header is named by its adapter
# (``ChannelAdapter.sensitive_headers``) and passed in by ``ChannelAdapter.call``.
SENSITIVE_HEADERS = frozenset({"authorization"})


def pooled_session() -> requests.Session:
    """The process-wide provider session (created on first use, after any fork)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                session = requests.Session()
                # Reading proxy variables from the environment costs about a millisecond of CPU per
                # request; an egress proxy is configured explicitly instead (PROVIDER_PROXY_URL).
                session.trust_env = False
                session.cookies.set_policy(RejectAllCookies())
                if settings.PROVIDER_PROXY_URL:
                    session.proxies = {"http": settings.PROVIDER_PROXY_URL, "https": settings.PROVIDER_PROXY_URL}
                adapter = HTTPAdapter(
                    pool_connections=16, pool_maxsize=settings.PROVIDER_POOL_SIZE, max_retries=0
                )
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                _session = session
    return _session


def reset_pooled_session() -> None:
    """Drop the shared session (Celery calls this after fork: sockets must not be shared)."""
    global _session
    with _session_lock:
        _session = None


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _decode_body(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        # RecursionError: nested deeper than the decoder goes; kept as text like any non-JSON body.
        return raw[:4000].decode("utf-8", "replace")


def _storable(text: str) -> str:
    """PostgreSQL's jsonb cannot hold a NUL character; a provider's answer may contain one."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of a JSON-like value with every secret in its strings masked.

    Iterative, not recursive: a pass-through object (a Viber keyboard) or a provider's answer can
    be nested deeper than Python's recursion limit, and a crash here would hit every retry. NUL
    characters are replaced, or the attempt log's insert would fail.
    """
    secrets = list(secrets)

    def copy_of(node: Any) -> Any:
        if isinstance(node, str):
            return _storable(redact(node, secrets))
        if isinstance(node, Mapping):
            return {}
        if isinstance(node, list):
            return []
        return node

    root = copy_of(value)
    pending: list[tuple[Any, Any]] = [(value, root)] if isinstance(root, dict | list) else []
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, Mapping) else enumerate(source)
        for key, child in items:
            copied = copy_of(child)
            if isinstance(target, dict):
                target[_storable(str(key))] = copied
            else:
                target.append(copied)
            if isinstance(copied, dict | list):
                pending.append((child, copied))
    return root


def call_provider(
    session: requests.Session,
    method: str,
    url: str,
    *,
    secrets: Iterable[str] = (),
    sensitive_headers: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    params: Mapping[str, Any] | None = None,
    timeout: tuple[float, float] | None = None,
) -> tuple[requests.Response, HttpExchange]:
    """Make one provider call and return the response with its redacted exchange record.

    Connection errors and timeouts become ``ProviderUnavailable`` (retryable) here, so no
    adapter can forget to classify them. HTTP statuses are classified by the caller
    (``ChannelAdapter.classify_answer``), which also reads the provider's body.
    """
    secrets = [s for s in secrets if s]
    masked_headers = SENSITIVE_HEADERS | {name.lower() for name in sensitive_headers}
    timeout = timeout or (settings.PROVIDER_CONNECT_TIMEOUT, settings.PROVIDER_READ_TIMEOUT)
    safe_headers = {
        k: (REDACTED if k.lower() in masked_headers else redact(v, secrets))
        for k, v in (headers or {}).items()
    }
    exchange = HttpExchange(
        method=method.upper(),
        url=redact(url, secrets),
        request_headers=safe_headers,
        request_body=_redact_value(json_body, secrets),
    )
    started = time.perf_counter()
    failure: ProviderUnavailable | None = None
    try:
        response = session.request(
            method, url, headers=headers, json=json_body, params=params, timeout=timeout,
            allow_redirects=False,
        )
    except requests.ReadTimeout as exc:
        exchange.error = redact(f"read timeout: {exc}", secrets)
        # The request went out: the provider may have taken the message and only its answer is late.
        failure = ProviderAmbiguous(
            "timeout", "provider did not answer in time; it may have received the message", exchange=exchange
        )
    except requests.Timeout as exc:
        exchange.error = redact(f"timeout: {exc}", secrets)
        # A connect timeout: the request never left, so a retry cannot duplicate.
        failure = ProviderUnavailable("timeout", "provider did not answer in time", exchange=exchange)
    except requests.RequestException as exc:
        exchange.error = redact(f"{type(exc).__name__}: {exc}", secrets)
        failure = ProviderUnavailable("connection", "could not reach the provider", exchange=exchange)
    if failure is not None:
        exchange.duration_ms = (time.perf_counter() - started) * 1000
        # Raised outside the ``except``: the requests error's text holds the URL, which may carry
        # a token (Telegram), so it must not ride along as the cause or the context.
        raise failure
    exchange.duration_ms = (time.perf_counter() - started) * 1000
    exchange.status_code = response.status_code
    exchange.response_body = _redact_value(_decode_body(response.content), secrets)
    return response, exchange

