"""Which provider base URLs a traffic account may use.

A traffic account's ``base_url`` decides where its stored credentials (API keys, bot tokens,
service-account keys) are sent. Left open, anyone who can edit an account (a staff member, a
compromised admin session) could point it at their own host and collect the secrets on the next
send. So a base URL must be on the channel's own provider host (``PROVIDER_BASE_URLS``) or in
the operator's ``PROVIDER_ALLOWED_BASE_URLS`` (the sandbox in development, regional endpoints,
an egress gateway). Entries match on scheme and host, and on port when the entry names one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _matches(candidate: str, entry: str) -> bool:
    scheme, host, port = _origin(candidate)
    entry_scheme, entry_host, entry_port = _origin(entry)
    if not host or (scheme, host) != (entry_scheme, entry_host):
        return False
    return entry_port is None or entry_port == port


def allowed_base_urls(channel: str) -> list[str]:
    own = settings.PROVIDER_BASE_URLS.get(channel)
    return [*([own] if own else []), *settings.PROVIDER_ALLOWED_BASE_URLS]


def base_url_refusal(channel: str, base_url: str) -> str | None:
    """Why ``base_url`` may not carry ``channel`` credentials, or ``None`` when it may."""
    if any(_matches(base_url, entry) for entry in allowed_base_urls(channel)):
        return None
    return (
        f"{base_url} is not a known {channel} provider host; an operator adds it to "
        "PROVIDER_ALLOWED_BASE_URLS if it is meant to receive this account's credentials."
    )
