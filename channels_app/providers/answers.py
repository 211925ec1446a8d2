"""What a provider's answer means: the one mapping of HTTP statuses to send errors.

Every provider says "slow down" with 429, "we are down" with 5xx and "your credentials are wrong"
with 401/403, so that mapping lives here once. What differs is the body: WhatsApp's error codes,
Telegram's ``ok: false``, Viber's ``status`` inside a 200. An adapter reads its body into an
``AnswerError`` (its code, its text and, when its code decides, the error class) and
``classify_http_answer`` combines that with the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from channels_app.providers.base import (
    HttpExchange,
    ProviderConfigError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    SendError,
)

CONFIG_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class AnswerError:
    """What a provider's answer says went wrong, in the provider's own terms.

    Empty fields defer to the HTTP status: ``code`` to ``http_<status>``, ``text`` to the adapter's
    default text, ``error_class`` to ``http_error_class``. ``retry_after`` is the provider's own
    hint (Telegram's ``parameters.retry_after``); without it a throttled answer's Retry-After counts.
    """

    code: str = ""
    text: str = ""
    error_class: type[SendError] | None = None
    retry_after: float | None = None


def http_error_class(status: int, config_statuses: frozenset[int] = CONFIG_STATUSES) -> type[SendError] | None:
    """The error an HTTP status means by itself; ``None`` below 400, where only the body can tell."""
    if status == 429:
        return ProviderThrottled
    if status >= 500:
        return ProviderUnavailable
    if status in config_statuses:
        return ProviderConfigError
    if status >= 400:
        return ProviderRejected
    return None


def classify_http_answer(
    status: int,
    headers: Mapping[str, str],
    *,
    reported: AnswerError | None = None,
    exchange: HttpExchange | None = None,
    config_statuses: frozenset[int] = CONFIG_STATUSES,
    default_texts: Mapping[type[SendError], str] | None = None,
    provider_name: str = "the provider",
) -> SendError | None:
    """The ``SendError`` an answer amounts to, or ``None`` when it is a success.

    429 always throttles (a provider's code cannot make a rate limit permanent); otherwise a class
    the provider's code decided wins over the status, and the status decides the rest. A status
    below 400 whose body reports a failure nobody classified is a refusal of this message.
    """
    error_class: type[SendError] | None = ProviderThrottled if status == 429 else None
    if error_class is None and reported is not None:
        error_class = reported.error_class
    if error_class is None:
        error_class = http_error_class(status, config_statuses)
    if error_class is None:
        if reported is None:
            return None
        error_class = ProviderRejected
    code = (reported.code if reported else "") or f"http_{status}"
    text = (
        (reported.text if reported else "")
        or (default_texts or {}).get(error_class, "")
        or f"HTTP {status} from {provider_name}"
    )
    retry_after: float | None = None
    if error_class is ProviderThrottled:
        retry_after = reported.retry_after if reported and reported.retry_after is not None else None
        if retry_after is None:
            retry_after = retry_after_seconds(headers)
    return error_class(code, text, exchange=exchange, retry_after=retry_after)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds when the provider sent it as a number."""
    value = str(headers.get("Retry-After", "") or "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def json_object(response: requests.Response) -> dict[str, Any] | None:
    """The answer's body when it is a JSON object, else ``None``."""
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
