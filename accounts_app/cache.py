"""Short-lived per-process copies of customers and traffic accounts for the request path.

Every API call needs its customer (to check the token is not revoked) and every send needs its
traffic accounts. Reading them from PostgreSQL cost two round trips and about a third of a
send's CPU (an earlier profile; docs/benchmarks.md). A copy kept for ``ACCOUNT_CACHE_SECONDS`` removes
both. The price is bounded staleness: a password change, a deactivation or an edited traffic
account reaches *other* processes up to that many seconds later; the process that made the
change (and any process that sees a token newer than its copy) reads the database at once.
Workers never use these copies: they load the traffic account with the message they send, so
credentials are always current where they are used. ``ACCOUNT_CACHE_SECONDS=0`` turns this off.

Callers get a shallow copy of the cached instance, never the instance itself, so a request that
modifies its customer cannot change what concurrent requests see.

Bearer tokens are verified once per process too (``claims_for_token``): checking a JWT's
signature and claims cost more CPU than the rest of authentication together. A verified token's
claims are kept until the token's own ``exp`` (never longer) in a bounded LRU of
``TOKEN_CACHE_MAX_ENTRIES``, keyed by the token's SHA-256 so no usable token sits in the cache.
Only the verification is cached, not the decision: every request still looks its customer up
through ``customer_for_token`` and compares the token's version with the customer's, so a
revocation (password change) or a deactivation takes effect exactly as described above, at once
in the process that made it and within ``ACCOUNT_CACHE_SECONDS`` in the others. Failed
verifications are not kept.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from cachetools import TLRUCache, TTLCache
from django.conf import settings
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts_app.models import Customer, TrafficAccount
from accounts_app.tokens import TokenClaims, token_decode

MAX_ENTRIES = 10_000
TOKEN_CACHE_MAX_ENTRIES = 10_000

_lock = threading.Lock()
_caches: dict[str, TTLCache] = {}
_tokens: TLRUCache | None = None


def _cache(name: str) -> TTLCache | None:
    seconds = settings.ACCOUNT_CACHE_SECONDS
    if seconds <= 0:
        return None
    cache = _caches.get(name)
    if cache is None or cache.ttl != seconds:
        with _lock:
            cache = _caches[name] = TTLCache(maxsize=MAX_ENTRIES, ttl=seconds)
    return cache


def _get(name: str, key: Any) -> Any:
    cache = _cache(name)
    if cache is None:
        return None
    with _lock:
        found = cache.get(key)
    return copy.copy(found) if found is not None else None


def _put(name: str, key: Any, value: Any) -> None:
    cache = _cache(name)
    if cache is not None:
        with _lock:
            cache[key] = copy.copy(value)


def _forget(name: str, match: Any) -> None:
    with _lock:
        cache = _caches.get(name)
        if cache is not None:
            for key in [k for k in cache if match(k)]:
                cache.pop(key, None)


def customer_for_token(customer_id: uuid.UUID, token_version: int) -> Customer | None:
    """The active customer a token names, or None. A copy older than the token is refreshed."""
    customer = _get("customers", customer_id)
    if customer is None or customer.token_version != token_version:
        customer = Customer.objects.filter(id=customer_id, is_active=True).first()
        if customer is not None:
            _put("customers", customer_id, customer)
    return customer


def _until_token_expiry(key: bytes, claims: TokenClaims, now: float) -> float:
    return claims.expires_at


def _token_cache() -> TLRUCache:
    global _tokens
    if _tokens is None or _tokens.maxsize != TOKEN_CACHE_MAX_ENTRIES:
        # Wall-clock timer: an entry's expiry is the token's ``exp``, a Unix time. PyJWT refuses a
        # token from its ``exp`` second on; the cache stops answering for it at the same instant.
        _tokens = TLRUCache(maxsize=TOKEN_CACHE_MAX_ENTRIES, ttu=_until_token_expiry, timer=time.time)
    return _tokens


def claims_for_token(token: str) -> TokenClaims:
    """The verified claims of a Bearer token, checked once per process until it expires.

    Raises ``InvalidToken`` like ``token_decode`` for a token that is forged, malformed or expired.
    The caller still checks the claims against the customer (revocation, deactivation)."""
    key = hashlib.sha256(token.encode()).digest()
    with _lock:
        claims = _token_cache().get(key)
    if claims is None:
        claims = token_decode(token)
        with _lock:
            _token_cache()[key] = claims
    return claims


def verified_tokens_count() -> int:
    """How many verified tokens this process holds (expired ones are dropped as they are met)."""
    with _lock:
        cache = _token_cache()
        cache.expire()
        return len(cache)


def traffic_accounts_of(customer_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TrafficAccount]:
    """The customer's traffic accounts among ``ids`` (missing ones are left out, never cached)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[uuid.UUID, TrafficAccount] = {}
    for account_id in wanted:
        account = _get("traffic_accounts", (customer_id, account_id))
        if account is not None:
            found[account_id] = account
    missing = [i for i in wanted if i not in found]
    if missing:
        for account in TrafficAccount.objects.filter(customer_id=customer_id, id__in=missing):
            _put("traffic_accounts", (customer_id, account.id), account)
            found[account.id] = account
    return found


def clear() -> None:
    with _lock:
        for cache in _caches.values():
            cache.clear()
        if _tokens is not None:
            _tokens.clear()


@receiver(setting_changed, dispatch_uid="account_cache_jwt_settings")
def _jwt_settings_changed(setting: str, **kwargs: Any) -> None:
    # Settings change only under tests; a token verified with another key must be checked again.
    if setting.startswith("JWT_"):
        with _lock:
            if _tokens is not None:
                _tokens.clear()


@receiver([post_save, post_delete], sender=Customer, dispatch_uid="account_cache_customer")
def _customer_changed(sender: type, instance: Customer, **kwargs: Any) -> None:
    _forget("customers", lambda key: key == instance.pk)
    _forget("traffic_accounts", lambda key: key[0] == instance.pk)


@receiver([post_save, post_delete], sender=TrafficAccount, dispatch_uid="account_cache_traffic_account")
def _traffic_account_changed(sender: type, instance: TrafficAccount, **kwargs: Any) -> None:
    _forget("traffic_accounts", lambda key: key[1] == instance.pk)
