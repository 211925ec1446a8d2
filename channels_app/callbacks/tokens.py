"""Signed tokens that make Mitto's unsigned callbacks verifiable.

Mitto SMS signs neither delivery reports nor forwarded inbound SMS, so the only proof that a
callback is ours is a token we put into the callback URL ourselves: an HS256 JWT whose subject
names what the callback is about (our message id for a DLR, the traffic account id for inbound)
and whose ``pur`` claim says which of the two it is, so a DLR URL can never be replayed as an
inbound one. DLR and inbound tokens use separate key lists, each configured with several
values: the first signs, all of them verify, which lets operators rotate keys without breaking
callbacks already in flight (add the new key first, drop the old one once its tokens expire).

Each token also carries its traffic account's ``callback_token_generation`` (``gen``): the
callback views compare it with the account's current value, so one account's leaked URLs are
revoked by bumping that number, without rotating the keys every account shares.
"""

from __future__ import annotations

import time
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from channels_app.providers.base import CallbackRejected

CallbackPurpose = Literal["dlr", "dlr_bulk", "inbound"]

ALGORITHM = "HS256"
TOKEN_QUERY_PARAMETER = "token"  # noqa: S105 (a parameter name, not a secret)
_REQUIRED_CLAIMS = ["sub", "pur", "iat", "nbf", "exp"]
_KEY_SETTINGS: dict[str, str] = {
    "dlr": "MITTO_DLR_SIGNING_KEYS",
    # One URL for every destination of a ``/smsbulk`` call: subject = the traffic account id.
    "dlr_bulk": "MITTO_DLR_SIGNING_KEYS",
    "inbound": "MITTO_INBOUND_SIGNING_KEYS",
}
GENERATION_CLAIM = "gen"


def _signing_keys(purpose: str) -> list[str]:
    try:
        setting_name = _KEY_SETTINGS[purpose]
    except KeyError:
        raise ValueError(f"unknown callback token purpose {purpose!r}") from None
    keys = getattr(settings, setting_name)
    if isinstance(keys, str):  # a single key set without the list syntax
        keys = [keys]
    return [key for key in keys if key]


def issue_callback_token(
    *, subject: str, purpose: CallbackPurpose, lifetime: int | None = None, generation: int = 0
) -> str:
    """Sign ``subject`` for ``purpose`` with the newest key (the first one listed).

    ``lifetime`` (seconds) defaults to ``CALLBACK_TOKEN_LIFETIME_SECONDS``; inbound URLs that are
    configured once at Mitto need a lifetime as long as the configuration is meant to last.
    """
    keys = _signing_keys(purpose)
    if not keys:
        raise ImproperlyConfigured(f"{_KEY_SETTINGS[purpose]} is empty: cannot sign callback tokens")
    if lifetime is None:
        lifetime = settings.CALLBACK_TOKEN_LIFETIME_SECONDS
    now = int(time.time())
    claims = {
        "sub": str(subject), "pur": purpose, "iat": now, "nbf": now, "exp": now + int(lifetime),
        GENERATION_CLAIM: int(generation),
    }
    return jwt.encode(claims, keys[0], algorithm=ALGORITHM)


def verify_callback_token(token: str, *, purpose: CallbackPurpose) -> str:
    """Return the token's subject, or raise ``CallbackRejected`` (401).

    Every configured key of the purpose is tried; only a signature mismatch moves on to the
    next key. Once a key has verified the signature, an expired, premature or wrong-purpose
    token is rejected outright: another key cannot make it valid.
    """
    if not token:
        raise CallbackRejected("missing callback token")
    keys = _signing_keys(purpose)
    if not keys:
        raise CallbackRejected("no callback verification keys configured")
    for key in keys:
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS}
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise CallbackRejected("callback token expired") from None
        except jwt.ImmatureSignatureError:
            raise CallbackRejected("callback token not yet valid") from None
        except jwt.InvalidTokenError as exc:
            raise CallbackRejected(f"invalid callback token: {exc}") from None
        if claims.get("pur") != purpose:
            raise CallbackRejected("callback token issued for another purpose")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise CallbackRejected("callback token has no subject")
        return subject
    raise CallbackRejected("callback token signature does not match any key")


def token_generation(token: str) -> int | None:
    """The account generation a token ``verify_callback_token`` has accepted was issued under
    (tokens from before generations existed count as 0); ``None`` when it names none we can use."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    generation = claims.get(GENERATION_CLAIM, 0)
    return generation if isinstance(generation, int) and not isinstance(generation, bool) else None


def token_generation_matches(token: str, current: int) -> bool:
    """Whether a token ``verify_callback_token`` has accepted was issued under the account's
    current generation."""
    generation = token_generation(token)
    return generation is not None and generation == current


def callback_url_with_token(base_url: str, token: str) -> str:
    """``base_url`` with ``token`` set as its ``token`` query parameter (any previous one replaced)."""
    parts = urlsplit(base_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != TOKEN_QUERY_PARAMETER]
    query.append((TOKEN_QUERY_PARAMETER, token))
    return urlunsplit(parts._replace(query=urlencode(query)))
