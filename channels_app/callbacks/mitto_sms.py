"""Mitto SMS delivery reports and forwarded two-way SMS.

Mitto signs nothing, so the token in our callback URL is the whole of the authentication and is
checked before the database is touched: a forged, expired or wrong-purpose token costs the
caller a 401 and us no query. A DLR token names the one message it was issued for, and that is
the message the report applies to: the report's own ``messageId`` never chooses the message.
Mitto spells its ids with and without dashes, and a report may carry an earlier attempt's id
(a send that timed out but went through), so a differing id is recorded in the message's
history rather than refusing a genuine report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from django.db import connection
from django.http import HttpRequest, HttpResponse
from structlog.contextvars import bind_contextvars

from accounts_app.models import TrafficAccount
from channels_app.callbacks.accounts import callback_account
from channels_app.callbacks.http import accepted, callback_request, not_found, rejected
from channels_app.callbacks.processing import log_rejection, parse_and_apply
from channels_app.callbacks.tokens import TOKEN_QUERY_PARAMETER, token_generation, token_generation_matches
from channels_app.models import Message
from channels_app.providers.accounts import provider_account
from channels_app.providers.base import CallbackEvent, CallbackRejected, CallbackRequest, StatusEvent
from channels_app.providers.mitto_sms.adapter import MittoSmsAdapter, canonical_message_id
from channels_app.services.report_inbox import report_drain_request, report_store
from channels_app.services.row_models import message_and_account_columns, message_with_account
from gateway.channels import Channel

_REPORTED_MESSAGE_SQL = (
    f"SELECT {message_and_account_columns('m', 'a')} FROM {Message._meta.db_table} m"  # noqa: S608
    f" JOIN {TrafficAccount._meta.db_table} a ON a.id = m.traffic_account_id"
    " WHERE m.id = %s AND m.direction = %s"
)


def _reported_message(message_id: UUID) -> Message | None:
    """The outbound SMS the token was issued for, with its account (deactivated or not: a report
    on a message sent before the deactivation is still recorded)."""
    with connection.cursor() as cursor:
        cursor.execute(_REPORTED_MESSAGE_SQL, [message_id, Message.OUTBOUND])
        row = cursor.fetchone()
    if row is None:
        return None
    message = message_with_account(row)
    if message.traffic_account.channel != Channel.SMS:
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


def _stored_for_the_drain(callback: CallbackRequest, message_id: UUID) -> bool:
    """Whether the report is one status event and is now committed in the report inbox
    (``services.report_inbox``), to be applied by the drain. Anything else (no event, a body
    that does not parse, an unknown message, a revoked token) is answered by ``_applied_now``,
    which refuses it exactly as before."""
    try:
        events = MittoSmsAdapter.parse_dlr(callback, message_id)
    except ValueError:
        return False
    generation = token_generation(callback.query.get(TOKEN_QUERY_PARAMETER, ""))
    if len(events) != 1 or not isinstance(events[0], StatusEvent) or generation is None:
        return False
    account_id = report_store(message_id=message_id, token_generation=generation, event=events[0])
    if account_id is None:
        return False
    bind_contextvars(traffic_account_id=str(account_id), channel=Channel.SMS)
    report_drain_request()
    return True


def _applied_now(callback: CallbackRequest, message_id: UUID) -> HttpResponse:
    """The report applied in the request, with every refusal: 404 for an unknown message,
    401 for a revoked token, 400 for a body that does not parse."""
    message = _reported_message(message_id)
    if message is None:
        return not_found()
    account = message.traffic_account
    if not token_generation_matches(callback.query.get(TOKEN_QUERY_PARAMETER, ""), account.callback_token_generation):
        error = CallbackRejected("callback token revoked for this traffic account")
        log_rejection(Channel.SMS, error)
        return rejected(error)
    adapter = MittoSmsAdapter(provider_account(account))
    return parse_and_apply(
        account=account,
        parse=lambda: _in_stored_spelling(message, adapter.parse_dlr(callback, message_id)),
        reported=message,
    )


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
    if not token_generation_matches(callback.query.get(TOKEN_QUERY_PARAMETER, ""), account.callback_token_generation):
        error = CallbackRejected("callback token revoked for this traffic account")
        log_rejection(Channel.SMS, error)
        return rejected(error)
    adapter = MittoSmsAdapter(provider_account(account))
    return parse_and_apply(account=account, parse=lambda: adapter.parse_inbound(callback))
