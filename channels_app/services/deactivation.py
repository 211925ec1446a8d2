"""Deactivation is a kill switch: a deactivated customer or traffic account sends nothing more.

The admin, the management command and anything else that deactivates calls these services
(never a model signal: a bulk ``update()`` or a raw statement would skip a signal, and the
cancellation must not depend on how the flag was written). Each one

* clears ``is_active`` (login, send, sendbulk and templates refuse the account from then on),
* cancels every message not yet handed to a provider (``Scheduled`` failover hops and ``Ready``
  messages), each with a history event that says why, in one statement,
* and schedules the same cancellation again a little later, for what was still on its way at
  that moment: a send accepted by a web process whose cached copy of the account had not yet
  expired (``ACCOUNT_CACHE_SECONDS``), or a message a worker was sending (``Sending``), which
  is never cancelled under the worker's feet and may come back ``Ready`` for a retry.

The dispatch claim and the failover trigger also refuse messages of inactive accounts, so
nothing in that window is sent either. Messages already with a provider keep their status
and still take delivery reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts_app.models import Customer, TrafficAccount
from channels_app import queries
from channels_app.status import Status

logger = logging.getLogger(__name__)

CUSTOMER_DEACTIVATED = "customer deactivated"
TRAFFIC_ACCOUNT_DEACTIVATED = "traffic account deactivated"
# Not yet with a provider, so safe to cancel: Sending is left to its worker.
CANCELLABLE = [Status.SCHEDULED, Status.READY]
# The second pass runs after the web processes' account copies and a provider call have expired.
SECOND_PASS_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class DeactivationSummary:
    cancelled: int


def pending_messages_cancel(
    *, reason: str, customer_id: UUID | None = None, traffic_account_id: UUID | None = None
) -> int:
    """Cancel the owner's messages that no provider has seen yet; return how many."""
    with transaction.atomic():
        return queries.pending_messages_cancel(
            statuses=CANCELLABLE,
            reason=reason,
            now=timezone.now(),
            customer_id=customer_id,
            traffic_account_id=traffic_account_id,
        )


def _second_pass_delay() -> float:
    return settings.ACCOUNT_CACHE_SECONDS + settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT + (
        SECOND_PASS_MARGIN_SECONDS
    )


def _schedule_second_pass(*, customer_id: UUID | None = None, traffic_account_id: UUID | None = None) -> None:
    from channels_app.tasks import cancel_pending_of_inactive

    def publish() -> None:
        try:
            cancel_pending_of_inactive.apply_async(
                kwargs={
                    "customer_id": str(customer_id) if customer_id else None,
                    "traffic_account_id": str(traffic_account_id) if traffic_account_id else None,
                },
                countdown=_second_pass_delay(),
            )
        except Exception:
            # The first pass has run and the claim refuses the account: a lost second pass leaves
            # stragglers Ready (never sent), which the next deactivation call cancels.
            logger.exception("could not schedule the second cancellation pass")

    transaction.on_commit(publish)


def customer_deactivate(*, customer: Customer) -> DeactivationSummary:
    """Deactivate the customer (idempotent) and cancel every message of theirs not yet sent."""
    with transaction.atomic():
        if customer.is_active:
            customer.is_active = False
            customer.save(update_fields=["is_active"])
        cancelled = pending_messages_cancel(reason=CUSTOMER_DEACTIVATED, customer_id=customer.id)
        _schedule_second_pass(customer_id=customer.id)
    logger.info("customer %s deactivated: %d pending messages cancelled", customer.id, cancelled)
    return DeactivationSummary(cancelled=cancelled)


def traffic_account_deactivate(*, account: TrafficAccount) -> DeactivationSummary:
    """Deactivate the traffic account (idempotent) and cancel its messages not yet sent."""
    with transaction.atomic():
        if account.is_active:
            account.is_active = False
            account.save(update_fields=["is_active", "updated_at"])
        cancelled = pending_messages_cancel(reason=TRAFFIC_ACCOUNT_DEACTIVATED, traffic_account_id=account.id)
        _schedule_second_pass(traffic_account_id=account.id)
    logger.info("traffic account %s deactivated: %d pending messages cancelled", account.id, cancelled)
    return DeactivationSummary(cancelled=cancelled)


def inactive_pending_cancel(*, customer_id: UUID | None = None, traffic_account_id: UUID | None = None) -> int:
    """The second pass: cancel again, but only if the owner is still inactive (an operator may
    have reactivated it in between)."""
    if customer_id is not None:
        if Customer.objects.filter(id=customer_id, is_active=False).exists():
            return pending_messages_cancel(reason=CUSTOMER_DEACTIVATED, customer_id=customer_id)
        return 0
    if traffic_account_id is None:
        return 0
    if TrafficAccount.objects.filter(id=traffic_account_id, is_active=False).exists():
        return pending_messages_cancel(reason=TRAFFIC_ACCOUNT_DEACTIVATED, traffic_account_id=traffic_account_id)
    return 0
