"""Mitto SMS delivery reports and forwarded two-way SMS.

Mitto signs nothing, so the token in our callback URL is the whole of the authentication and is
checked before the database is touched: a forged, expired or wrong-purpose token costs the
caller a 401 and us no query. A DLR token names the one message it was issued for, and that is
the message the report applies to: the report's own ``messageId`` never chooses the message.
Mitto spells its ids with and without dashes, and a report may carry an earlier attempt's id
(a send that timed out but went through), so a differing id is recorded in the message's
history rather than refusing a genuine report.

A ``/smsbulk`` call has one callback URL for all its destinations, so its token names the traffic
account (purpose ``dlr_bulk``) and the report's ``messageId`` picks the message among that
account's outbound messages only: the provider ids answered by the call, stored when its outcomes
are recorded. A report that overtakes that recording finds the account's messages still
``Sending`` and is answered 409 with ``Retry-After`` (``ReportNotYetMatched``), so Mitto resends it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from structlog.contextvars import bind_contextvars

from accounts_app.models import TrafficAccount
from channels_app import queries
from channels_app.callbacks.accounts import callback_account
from channels_app.callbacks.http import accepted, callback_request, malformed, not_found, rejected
from channels_app.callbacks.processing import log_rejection, parse_and_apply
from channels_app.callbacks.tokens import TOKEN_QUERY_PARAMETER, token_generation, token_generation_matches
from channels_app.models import Message
from channels_app.providers.accounts import provider_account
from channels_app.providers.base import CallbackEvent, CallbackRejected, CallbackRequest, StatusEvent
from channels_app.providers.mitto_sms.adapter import MittoSmsAdapter, canonical_message_id
from channels_app.services.report_inbox import report_drain_request, report_store, report_store_by_provider_id
from gateway.channels import Channel

logger = logging.getLogger(__name__)


def _reported_message(message_id: UUID) -> Message | None:
    """The outbound SMS the token was issued for, with its account (deactivated or not: a report
    on a message sent before the deactivation is still recorded)."""
    message = queries.outbound_message_with_account(message_id)
    if message is None or message.traffic_account.channel != Channel.SMS:
        return None
    return message


def _in_stored_spelling(message: Message, events: Sequence[CallbackEvent]) -> list[CallbackEvent]:
    """The events with a provider id that is the stored one written another way (with or without
    dashes, another case) replaced by the stored spelling. A different id stays as reported: the
    report still applies to the token's message and its history records the mismatch."""
    stored = message.provider_message_id
    if not stored:
        return list(events)
    canonical = canonical_message_id(stored)
    return [
        replace(event, provider_message_id=stored)
        if isinstance(event, StatusEvent) and canonical_message_id(event.provider_message_id) == canonical
        else event
        for event in events
    ]


def mitto_dlr(request: HttpRequest) -> HttpResponse:
    callback = callback_request(request)
    try:
        message_id = MittoSmsAdapter.verify_dlr(callback)
    except CallbackRejected as error:
        log_rejection(Channel.SMS, error)
        return rejected(error)
    if _stored_for_the_drain(callback, message_id):
        return accepted()
    return _applied_now(callback, message_id)


def _one_status_event(callback: CallbackRequest, message_id: UUID | None) -> tuple[StatusEvent, int] | None:
    """The report's single status event and its token's account generation, when it is one that
    the inbox can take; ``None`` for anything else (no event, several, a body that does not
    parse, a token naming no generation), which the per-report path answers."""
    try:
        events = MittoSmsAdapter.parse_dlr(callback, message_id)
    except ValueError:
        return None
    generation = token_generation(callback.query.get(TOKEN_QUERY_PARAMETER, ""))
    if len(events) != 1 or not isinstance(events[0], StatusEvent) or generation is None:
        return None
    return events[0], generation


def _queued_for_the_drain(account_id: UUID) -> bool:
    """A report now committed in the inbox: name its account in the request's log lines and ask
    for a drain."""
    bind_contextvars(traffic_account_id=str(account_id), channel=Channel.SMS)
    report_drain_request()
    return True


def _generation_refusal(callback: CallbackRequest, account: TrafficAccount) -> HttpResponse | None:
    """401 when the callback's token is of a revoked generation of ``account``'s tokens."""
    if token_generation_matches(callback.query.get(TOKEN_QUERY_PARAMETER, ""), account.callback_token_generation):
        return None
    revoked = CallbackRejected("callback token revoked for this traffic account")
    log_rejection(Channel.SMS, revoked)
    return rejected(revoked)


def _stored_for_the_drain(callback: CallbackRequest, message_id: UUID) -> bool:
    """Whether the report is one status event and is now committed in the report inbox
    (``services.report_inbox``), to be applied by the drain. Anything else (no event, a body
    that does not parse, an unknown message, a revoked token) is answered by ``_applied_now``,
    which refuses it exactly as before."""
    report = _one_status_event(callback, message_id)
    if report is None:
        return False
    event, generation = report
    account_id = report_store(message_id=message_id, token_generation=generation, event=event)
    return account_id is not None and _queued_for_the_drain(account_id)


def _applied_now(callback: CallbackRequest, message_id: UUID) -> HttpResponse:
    """The report applied in the request, with every refusal: 404 for an unknown message,
    401 for a revoked token, 400 for a body that does not parse."""
    message = _reported_message(message_id)
    if message is None:
        return not_found()
    account = message.traffic_account
    revoked = _generation_refusal(callback, account)
    if revoked is not None:
        return revoked
    adapter = MittoSmsAdapter(provider_account(account))
    return parse_and_apply(
        account=account,
        parse=lambda: _in_stored_spelling(message, adapter.parse_dlr(callback, message_id)),
        reported=message,
    )


def _id_spellings(reported: str) -> list[str]:
    """The ways Mitto may write one id: as reported, without dashes, and as a dashed UUID."""
    canonical = canonical_message_id(reported)
    spellings = {reported.strip(), canonical}
    if len(canonical) == 32:
        with contextlib.suppress(ValueError):
            spellings.add(str(UUID(hex=canonical)))
    return [spelling for spelling in spellings if spelling]


def _matched_by_provider_id(
    account: TrafficAccount, events: Sequence[CallbackEvent]
) -> tuple[list[CallbackEvent], Message | None]:
    """The events with the account's message their provider id names filled in (in the stored
    spelling), and that message; events naming no stored id are left for ``report_apply``,
    which asks for a retry while the account has sends awaiting their answer."""
    matched: Message | None = None
    result: list[CallbackEvent] = []
    for event in events:
        if isinstance(event, StatusEvent) and event.provider_message_id:
            message = (
                Message.objects.select_related("traffic_account")
                .filter(
                    traffic_account=account,
                    direction=Message.OUTBOUND,
                    provider_message_id__in=_id_spellings(event.provider_message_id),
                )
                .exclude(provider_message_id="")
                .first()
            )
            if message is not None:
                matched = message
                event = replace(event, message_id=message.id, provider_message_id=message.provider_message_id)
        result.append(event)
    return result, matched


def _bulk_stored_for_the_drain(callback: CallbackRequest, account_id: UUID) -> bool:
    """As ``_stored_for_the_drain``, for a ``/smsbulk`` report: one status event whose provider id
    names a message of the token's account that is stored already, now committed in the report
    inbox. Anything else (a report that came before its id was recorded, a revoked token, a body
    that does not parse) takes the path below, which answers it exactly as before."""
    report = _one_status_event(callback, None)
    if report is None or not report[0].provider_message_id:
        return False
    event, generation = report
    message_id = report_store_by_provider_id(
        traffic_account_id=account_id,
        provider_ids=_id_spellings(event.provider_message_id),
        token_generation=generation,
        event=event,
    )
    return message_id is not None and _queued_for_the_drain(account_id)


def mitto_bulk_dlr(request: HttpRequest) -> HttpResponse:
    """A report on one destination of a ``/smsbulk`` call (module docstring)."""
    callback = callback_request(request)
    try:
        account_id = MittoSmsAdapter.verify_bulk_dlr(callback)
    except CallbackRejected as refusal:
        log_rejection(Channel.SMS, refusal)
        return rejected(refusal)
    if _bulk_stored_for_the_drain(callback, account_id):
        return accepted()
    account = callback_account(str(account_id), channel=Channel.SMS)
    if account is None:
        return not_found()
    revoked = _generation_refusal(callback, account)
    if revoked is not None:
        return revoked
    adapter = MittoSmsAdapter(provider_account(account))
    try:
        parsed = adapter.parse_dlr(callback, None)
    except ValueError as error:
        logger.warning("sms bulk report for account %s is malformed: %s", account.id, error)
        return malformed()
    events, reported = _matched_by_provider_id(account, parsed)
    return parse_and_apply(account=account, parse=lambda: events, reported=reported)


def mitto_inbound(request: HttpRequest) -> HttpResponse:
    callback = callback_request(request)
    try:
        account_id = MittoSmsAdapter.verify_inbound(callback)
    except CallbackRejected as error:
        log_rejection(Channel.SMS, error)
        return rejected(error)
    account = callback_account(str(account_id), channel=Channel.SMS)
    if account is None:
        return not_found()
    revoked = _generation_refusal(callback, account)
    if revoked is not None:
        return revoked
    adapter = MittoSmsAdapter(provider_account(account))
    return parse_and_apply(account=account, parse=lambda: adapter.parse_inbound(callback))
