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
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterable
from typing import Any

from cachetools import TTLCache
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts_app.models import Customer, TrafficAccount

MAX_ENTRIES = 10_000

_lock = threading.Lock()
_caches: dict[str, TTLCache] = {}


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


@receiver([post_save, post_delete], sender=Customer, dispatch_uid="account_cache_customer")
def _customer_changed(sender: type, instance: Customer, **kwargs: Any) -> None:
    _forget("customers", lambda key: key == instance.pk)
    _forget("traffic_accounts", lambda key: key[0] == instance.pk)


@receiver([post_save, post_delete], sender=TrafficAccount, dispatch_uid="account_cache_traffic_account")
def _traffic_account_changed(sender: type, instance: TrafficAccount, **kwargs: Any) -> None:
    _forget("traffic_accounts", lambda key: key[1] == instance.pk)
