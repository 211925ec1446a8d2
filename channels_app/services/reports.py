"""Apply what providers call back with: delivery reports, user messages, reachability and
WhatsApp template verdicts.

Every provider retries its callbacks and none promises an order, so each function here is
idempotent: a status goes through ``message_transition`` (conditional and forward-only, so a
duplicate or late report is a no-op), an inbound message is stored once per provider event id
(the ``inbound_once`` constraint is the arbiter, not a read-then-write), and the rest overwrite
the latest known state. ``callback_events_apply`` runs one callback's events in one transaction,
so a callback is either applied completely or, when the provider must retry it, not at all.

Which messages a report can reach is decided here, not in the views: always within the traffic
account the authenticated callback belongs to, so one customer's provider cannot move another
customer's messages even when it names their ids.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts_app.models import TrafficAccount
from channels_app.models import Conversation, Message, MessageEvent, WhatsAppTemplate
from channels_app.providers.base import InboundEvent, StatusEvent, UserStateEvent
from channels_app.providers.whatsapp.adapter import TemplateStatusEvent
from channels_app.services.conversations import conversation_get_or_create
from channels_app.services.transitions import message_transition
from channels_app.signals import inbound_message_received
from channels_app.status import Status
from gateway import metrics

logger = logging.getLogger(__name__)
log = structlog.get_logger(__name__)

INBOUND_CONSTRAINT = "inbound_once"
# A MessageEvent keeps the provider's report for operators; a huge one is cut to its keys.
MAX_RAW_DETAIL_CHARS = 2000
_PROVIDER_ID_MAX = 191  # Message.provider_message_id
_DESTINATION_MAX = 128  # Message.destination
# Meta's "REINSTATED" means a paused or disabled template may be sent again.
_TEMPLATE_STATUS_ALIASES = {"REINSTATED": WhatsAppTemplate.APPROVED}
_TEMPLATE_STATUS_MAX = 16  # WhatsAppTemplate.status
_TEMPLATE_ID_MAX = 64  # WhatsAppTemplate.provider_template_id


class ReportNotYetMatched(Exception):
    """A report names no stored message while the account has sends waiting for the provider's
    answer: it is probably about one of them (the report overtook the send response), so the
    provider should deliver it again later instead of it being dropped."""


@dataclass
class CallbackOutcome:
    """What one callback changed; for logs and tests, never shown to the provider."""

    statuses_applied: int = 0
    statuses_ignored: int = 0
    inbound_stored: int = 0
    inbound_duplicates: int = 0
    user_states_changed: int = 0
    templates_updated: int = 0


def raw_detail(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's payload as stored in history: whole when small, else only its keys."""
    try:
        encoded = json.dumps(raw, default=str)
    except (TypeError, ValueError):
        return {"keys": [str(key) for key in list(raw)[:20]]}
    if len(encoded) <= MAX_RAW_DETAIL_CHARS:
        return json.loads(encoded)
    return {"truncated": True, "keys": [str(key) for key in list(raw)[:20]]}


# ---- delivery reports ------------------------------------------------------------------------


def _is_reported(message: Message | None, account: TrafficAccount, event: StatusEvent) -> bool:
    """Whether ``message``, already loaded by the caller, is what the lookup below would find:
    the outbound message of this account that the report names by our own id."""
    return (
        message is not None
        and message.id == event.message_id
        and message.traffic_account_id == account.id
        and message.direction == Message.OUTBOUND
    )


def _report_target(account: TrafficAccount, event: StatusEvent, reported: Message | None) -> Message | None:
    """The outbound message a report is about: ``reported`` when the callback's authentication
    already loaded it, else found in one indexed query.

    Our own id (Mitto's token, WhatsApp's ``biz_opaque_callback_data``, GBM's ``messageId``) is
    preferred; the provider's id is the fallback (Viber) and uses the partial
    ``(traffic_account, provider_message_id)`` index.
    """
    if _is_reported(reported, account, event):
        return reported
    lookup = Q()
    if event.message_id is not None:
        lookup |= Q(id=event.message_id)
    if event.provider_message_id:
        lookup |= Q(provider_message_id=event.provider_message_id[:_PROVIDER_ID_MAX]) & ~Q(provider_message_id="")
    if not lookup:
        return None
    # Postgres answers this with a BitmapOr of the primary key and ``msg_provider_id``.
    candidates = list(
        Message.objects.filter(lookup, traffic_account=account, direction=Message.OUTBOUND).order_by()[:2]
    )
    for candidate in candidates:
        if candidate.id == event.message_id:
            return candidate
    return candidates[0] if candidates else None


def _sends_in_flight(account: TrafficAccount) -> bool:
    """Whether some message of the account is with its provider right now (``Sending``): only
    then can a report name a provider id that is not stored yet."""
    return Message.objects.filter(traffic_account=account, status=Status.SENDING).exists()


def report_apply(*, account: TrafficAccount, event: StatusEvent, reported: Message | None = None) -> bool:
    """Apply one delivery report; returns whether the message's status moved. ``reported`` is the
    message the callback's own authentication named and loaded, if any (Mitto's token): when the
    report is about it, it is not looked up again.

    A duplicate, late or backwards report returns ``False`` (the state machine in
    ``channels_app.status`` decides). So does a report for a message we do not know, unless it
    may still become known: a provider id while a send of this account awaits its answer raises
    ``ReportNotYetMatched`` so the provider retries. A report carrying our own id never waits:
    that row exists from the moment the message was accepted.
    """
    message = _report_target(account, event, reported)
    if message is None:
        if event.message_id is None and event.provider_message_id and _sends_in_flight(account):
            raise ReportNotYetMatched(event.provider_message_id)
        logger.info(
            "report %s for unknown message (ours %s, provider's %r) on traffic account %s ignored",
            event.status, event.message_id, event.provider_message_id, account.id,
        )
        return False
    detail, extra = report_changes(message, event)
    moved = message_transition(
        message=message,
        status=event.status,
        source="provider",
        occurred_at=event.occurred_at or timezone.now(),
        error_code=event.error_code,
        error_text=event.error_text,
        detail=detail,
        extra_fields=extra,
    )
    if moved:
        _observe_report(message, event.status)
    return moved


def report_changes(message: Message, event: StatusEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    """The history detail of a report on ``message`` and the message fields it adds (billing):
    the same for a report applied alone (``report_apply``) and in a batch (``services.report_drain``)."""
    detail: dict[str, Any] = {"raw": raw_detail(event.raw)}
    if event.provider_message_id:
        detail["providerMessageId"] = event.provider_message_id
    if message.provider_message_id and event.provider_message_id and (
        event.provider_message_id != message.provider_message_id
    ):
        # An earlier attempt that timed out may have been sent after all: its reports name our
        # id and that attempt's provider id. The user did get the message, so it still counts,
        # and the history says which provider id the report named.
        logger.warning(
            "report for message %s names provider id %r, stored %r",
            message.id, event.provider_message_id, message.provider_message_id,
        )
        detail["providerMessageIdMismatch"] = {
            "reported": event.provider_message_id[:_PROVIDER_ID_MAX],
            "stored": message.provider_message_id,
        }
    extra: dict[str, Any] = {}
    if event.billing:
        extra["billing"] = {**(message.billing or {}), **event.billing}
        detail["billing"] = dict(event.billing)
    return detail, extra


def observe_reports(applied: list[tuple[Message, str]]) -> None:
    """Count and log reports applied by a batch, once it has committed."""
    if not applied:
        return

    def observe() -> None:
        for message, status in applied:
            metrics.report_applied(channel=message.channel, status=status)
            log.info(
                "report applied", message_id=str(message.id), status=status, channel=message.channel,
                traffic_account_id=str(message.traffic_account_id),
            )

    transaction.on_commit(observe)


def _observe_report(message: Message, status: str) -> None:
    """Counted and logged once committed: a callback rolled back for a retry applied nothing."""

    def observe() -> None:
        metrics.report_applied(channel=message.channel, status=status)
        log.info("report applied", message_id=str(message.id), status=status, channel=message.channel)

    transaction.on_commit(observe)


# ---- inbound messages ------------------------------------------------------------------------


def _constraint_name(error: IntegrityError) -> str:
    diag = getattr(error.__cause__, "diag", None)
    return str(getattr(diag, "constraint_name", "") or "")


def _insert_once(message: Message) -> bool:
    """Insert unless the provider event is already stored; a savepoint keeps the outer
    transaction usable when the constraint refuses a concurrent duplicate."""
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError as error:
        if _constraint_name(error) != INBOUND_CONSTRAINT:
            raise
        return False
    return True


def inbound_store(*, account: TrafficAccount, event: InboundEvent) -> Message | None:
    """Store a user's message in its conversation; ``None`` when it is already stored.

    Listeners of ``inbound_message_received`` (the customer webhook fan-out) run inside the
    transaction, so what they queue commits or rolls back with the message.
    """
    provider_id = event.provider_event_id[:_PROVIDER_ID_MAX]
    with transaction.atomic():
        if provider_id and Message.objects.filter(
            traffic_account=account, direction=Message.INBOUND, provider_message_id=provider_id
        ).exists():
            return None
        sender = event.sender[:_DESTINATION_MAX]
        conversation = conversation_get_or_create(account=account, user=sender, user_name=event.sender_name)
        now = timezone.now()
        message = Message(
            customer_id=account.customer_id,
            traffic_account=account,
            conversation=conversation,
            channel=account.channel,
            direction=Message.INBOUND,
            destination=sender,
            content=dict(event.content),
            status=Status.RECEIVED,
            provider_message_id=provider_id,
            triggered_at=now,
        )
        if not _insert_once(message):
            return None
        MessageEvent.objects.create(
            message=message,
            status=Status.RECEIVED,
            occurred_at=event.occurred_at or now,
            source="provider",
            detail={"providerEventId": event.provider_event_id, "raw": raw_detail(event.raw)},
        )
        Conversation.objects.filter(id=conversation.id).filter(
            Q(last_message_at__isnull=True) | Q(last_message_at__lt=now)
        ).update(last_message_at=now)
        inbound_message_received.send(sender=Message, message=message)
    return message


# ---- reachability and templates -----------------------------------------------------------


def user_state_apply(*, account: TrafficAccount, event: UserStateEvent) -> bool:
    """Record whether the user can still be messaged (a blocked bot, an unsubscribe);
    returns whether a conversation changed. Users we never talked to have nothing to update."""
    changed = (
        Conversation.objects.filter(traffic_account=account, user_identifier=event.user)
        .exclude(user_reachable=event.reachable)
        .update(user_reachable=event.reachable)
    )
    return bool(changed)


def template_status_apply(*, account: TrafficAccount, event: TemplateStatusEvent) -> bool:
    """Take Meta's verdict on a template we know; returns whether one was updated."""
    status = event.status.upper()
    fields: dict[str, Any] = {
        "status": _TEMPLATE_STATUS_ALIASES.get(status, status)[:_TEMPLATE_STATUS_MAX],
        "rejected_reason": event.reason,
        "updated_at": timezone.now(),
    }
    if event.provider_template_id:
        fields["provider_template_id"] = event.provider_template_id[:_TEMPLATE_ID_MAX]
    updated = WhatsAppTemplate.objects.filter(
        traffic_account=account, name=event.name, language=event.language
    ).update(**fields)
    return bool(updated)


# ---- one callback --------------------------------------------------------------------------


def callback_events_apply(
    *, account: TrafficAccount, events: Iterable[object], reported: Message | None = None
) -> CallbackOutcome:
    """Apply one authenticated callback's events in order, all in one transaction (``reported``:
    see ``report_apply``).

    ``ReportNotYetMatched`` propagates and rolls the whole callback back: the provider resends
    all of it, and the parts already applied once are no-ops the second time.
    """
    outcome = CallbackOutcome()
    with transaction.atomic():
        for event in events:
            if isinstance(event, StatusEvent):
                if report_apply(account=account, event=event, reported=reported):
                    outcome.statuses_applied += 1
                else:
                    outcome.statuses_ignored += 1
            elif isinstance(event, InboundEvent):
                if inbound_store(account=account, event=event) is not None:
                    outcome.inbound_stored += 1
                else:
                    outcome.inbound_duplicates += 1
            elif isinstance(event, UserStateEvent):
                outcome.user_states_changed += user_state_apply(account=account, event=event)
            elif isinstance(event, TemplateStatusEvent):
                outcome.templates_updated += template_status_apply(account=account, event=event)
            else:
                logger.warning("callback event of unknown type %s skipped", type(event).__name__)
    return outcome
