"""The order every callback goes through: authenticate, parse, apply; nothing else decides it.

Authenticity is checked on the raw bytes before the body is parsed or anything is written; a
body that fails to parse after a genuine signature is the provider's bug (400, so its retries
show up in its dashboard); a report that came before its send response asks for a retry (409).
The work per callback is a handful of indexed statements, so it is done in the request and the
provider gets its answer within milliseconds. Mitto's delivery reports, by far the most numerous,
are the exception: the view stores them in one statement and a drain applies them in batches
(``services.report_inbox``, docs/decisions/report-inbox.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from structlog.contextvars import bind_contextvars

from accounts_app.models import TrafficAccount
from channels_app.callbacks.accounts import callback_account
from channels_app.callbacks.http import accepted, callback_request, malformed, not_found, rejected, retry_later
from channels_app.models import Message
from channels_app.providers.accounts import provider_account
from channels_app.providers.base import CallbackRejected, CallbackRequest, ChannelAdapter, StatusEvent
from channels_app.providers.registry import adapter_for
from channels_app.services.reports import ReportNotYetMatched, callback_events_apply

logger = logging.getLogger(__name__)


def log_rejection(channel: str, error: CallbackRejected, account_id: object = None) -> None:
    logger.warning("%s callback rejected (%s) for account %s: %s", channel, error.status_code, account_id, error.reason)


def parse_and_apply(
    *,
    account: TrafficAccount,
    parse: Callable[[], Sequence[object]],
    check: Callable[[Sequence[object]], None] | None = None,
    reported: Message | None = None,
) -> HttpResponse:
    """Parse an authenticated callback, run the provider-specific ``check`` on its events
    (it may raise ``CallbackRejected``) and apply them in one transaction. ``reported`` is the
    message the authentication itself named, already loaded (see ``report_apply``)."""
    bind_contextvars(traffic_account_id=str(account.id), channel=account.channel)
    try:
        events = parse()
        if check is not None:
            check(events)
        if not account.is_active:
            events = _reports_only(account, events)
    except CallbackRejected as error:
        log_rejection(account.channel, error, account.id)
        return rejected(error)
    except ValueError as error:
        logger.warning("%s callback for account %s is malformed: %s", account.channel, account.id, error)
        return malformed()
    try:
        outcome = callback_events_apply(account=account, events=events, reported=reported)
    except ReportNotYetMatched as early:
        logger.info("%s report for %s came before its send response; asked to retry", account.channel, early)
        return retry_later()
    logger.debug("%s callback for account %s applied: %s", account.channel, account.id, outcome)
    return accepted()


def _reports_only(account: TrafficAccount, events: Sequence[object]) -> list[object]:
    """A deactivated account still records reports on what it sent before; inbound messages and
    anything else addressed to it are acknowledged (so the provider stops resending) and dropped."""
    kept: list[object] = [event for event in events if isinstance(event, StatusEvent)]
    if len(kept) != len(events):
        logger.info("%s callback for deactivated account %s: %d events dropped", account.channel, account.id,
                    len(events) - len(kept))
    return kept


@dataclass(frozen=True)
class Authenticated:
    """A callback that passed its account's authenticity check."""

    account: TrafficAccount
    adapter: ChannelAdapter
    callback: CallbackRequest


def authenticate(request: HttpRequest, *, account_id: str | None, channel: str) -> Authenticated | HttpResponse:
    """The verified callback, or the answer to give: 404 for no such account of the channel,
    401 when the signature (or secret) does not verify."""
    account = callback_account(account_id, channel=channel)
    if account is None:
        return not_found()
    callback = callback_request(request)
    adapter = adapter_for(provider_account(account))
    try:
        adapter.verify_callback(callback)
    except CallbackRejected as error:
        log_rejection(channel, error, account.id)
        return rejected(error)
    return Authenticated(account=account, adapter=adapter, callback=callback)


def signed_callback(request: HttpRequest, *, account_id: str | None, channel: str) -> HttpResponse:
    """A callback signed with the account's credentials (WhatsApp, Viber, Telegram)."""
    verified = authenticate(request, account_id=account_id, channel=channel)
    if isinstance(verified, HttpResponse):
        return verified
    return parse_and_apply(
        account=verified.account, parse=lambda: verified.adapter.parse_callback(verified.callback)
    )
