"""Which triggers a traffic account's webhooks subscribe to, without asking PostgreSQL per event.

Most traffic accounts have no webhook for most triggers, yet every status change would run the
locking subscription query (``webhook_ids_for_event``) to find that out. Each process keeps, per
traffic account, the set of triggers its active applied webhooks subscribe to. Only a "no" is
taken from here; a "yes" is always confirmed by that query, so the cache can spare queries but
never decide which webhook gets a delivery.

A "no" must therefore never outlive the subscription change that made it wrong. Every entry is
tagged with the generation it was loaded under; a committed change to a webhook or to where it
applies sets a new random generation in Redis, so every process reloads on its next lookup. The
generation is read before the database, so a change that commits in between is loaded again the
next time rather than hidden. Redis unreachable means no caching (every lookup asks PostgreSQL),
and entries expire after ``WEBHOOK_SUBSCRIPTION_CACHE_SECONDS`` whatever happens, for changes
that bypass model signals (``QuerySet.update``, SQL by hand).

Until a change commits, the transaction making it may still be answered from the cache; nothing
changes subscriptions and messages in one transaction. Tests that change subscriptions after a
lookup run the commit callbacks (``django_capture_on_commit_callbacks(execute=True)``).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from redis.exceptions import RedisError

from gateway.redis import get_redis
from webhooks_app.models import Webhook, WebhookTrafficAccount

logger = logging.getLogger(__name__)

GENERATION_KEY = "gw:webhook-subscriptions:generation"
# Bounds the memory of a process that sees events of very many accounts; clearing is cheap.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    generation: bytes | None
    loaded_at: float
    triggers: frozenset[str]


_entries: dict[uuid.UUID, _Entry] = {}


def _current_generation() -> bytes | None:
    """The generation in Redis (``None`` before the first change); raises ``RedisError``."""
    return cast(bytes | None, get_redis().get(GENERATION_KEY))  # the client leaves responses undecoded


def _subscribed_triggers_from_db(traffic_account_id: uuid.UUID) -> frozenset[str]:
    triggers = Webhook.objects.filter(is_active=True, webhooktrafficaccount__traffic_account_id=traffic_account_id)
    return frozenset(trigger for row in triggers.values_list("triggers", flat=True) for trigger in row)


def _max_age() -> float:
    return settings.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS


def _fresh(entry: _Entry, generation: bytes | None) -> bool:
    return entry.generation == generation and time.monotonic() - entry.loaded_at < _max_age()


def _load(traffic_account_id: uuid.UUID, generation: bytes | None) -> _Entry:
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    entry = _Entry(generation, time.monotonic(), _subscribed_triggers_from_db(traffic_account_id))
    _entries[traffic_account_id] = entry
    return entry


def account_may_subscribe(*, traffic_account_id: uuid.UUID, trigger: str) -> bool:
    """``False`` only when no active webhook applied to the account subscribes to ``trigger``."""
    try:
        generation = _current_generation()
    except RedisError:
        logger.warning("webhook subscription generation unreadable; asking the database", exc_info=True)
        return True
    entry = _entries.get(traffic_account_id)
    if entry is None or not _fresh(entry, generation):
        entry = _load(traffic_account_id, generation)
    return trigger in entry.triggers


def _publish_new_generation() -> None:
    _entries.clear()
    try:
        get_redis().set(GENERATION_KEY, uuid.uuid4().hex)
    except RedisError:
        logger.exception("webhook subscription change not published; other processes see it within %ss", _max_age())


@receiver(post_save, sender=Webhook, dispatch_uid="webhooks.subscription_cache.webhook_saved")
@receiver(post_delete, sender=Webhook, dispatch_uid="webhooks.subscription_cache.webhook_deleted")
@receiver(post_save, sender=WebhookTrafficAccount, dispatch_uid="webhooks.subscription_cache.applied")
@receiver(post_delete, sender=WebhookTrafficAccount, dispatch_uid="webhooks.subscription_cache.unapplied")
def subscriptions_changed(sender: object, **_: Any) -> None:
    """Publish once the change commits: published earlier, another process could reload the old
    state under the new generation and keep it. A change that rolls back publishes nothing."""
    transaction.on_commit(_publish_new_generation)
