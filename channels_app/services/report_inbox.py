"""Make a verified delivery report durable in one statement, and ask for it to be applied soon.

Applying a report in the request (load the message, move it, write its history, fan out to
webhooks and failover) cost about 11 ms of CPU per report between web and PostgreSQL. The
callback view now only verifies and parses the report and stores it here: one ``INSERT ...
SELECT`` that also proves the message exists, is outbound, belongs to an SMS account and that
the token's account generation is still current. It runs in autocommit, so the row is committed
before the provider gets its 200: a report the provider saw acknowledged is never lost.
``services.report_drain`` applies the stored reports in batches.

The drain is requested through a Redis flag set with ``NX`` and a short expiry: only the report
that sets it publishes the task, so one publish covers every report of the next moments. The
drain clears the flag when it starts, so a report stored while it runs requests another run.
Should the publish be lost (Redis or the broker away, the process killed right after the
insert), beat's sweep runs the same drain every ``REPORT_DRAIN_SWEEP_SECONDS``.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.utils import timezone
from psycopg.types.json import Jsonb

from channels_app import queries
from channels_app.models import Message
from channels_app.providers.base import StatusEvent
from channels_app.services.reports import raw_detail
from gateway.channels import Channel
from gateway.redis import get_redis

logger = logging.getLogger(__name__)

DRAIN_REQUESTED_KEY = "gw:report-drain:requested"
_PROVIDER_ID_MAX = 191  # ReportInbox.provider_message_id
_ERROR_CODE_MAX = 64  # ReportInbox.error_code

def report_store(*, message_id: uuid.UUID, token_generation: int, event: StatusEvent) -> uuid.UUID | None:
    """Store ``event`` for the outbound SMS ``message_id`` if its account's callback tokens are
    still of ``token_generation``; returns the traffic account id, or ``None`` when nothing was
    stored. Must not run inside a transaction: the caller acknowledges the report right after."""
    now = timezone.now()
    params = [
        event.status,
        event.provider_message_id[:_PROVIDER_ID_MAX],
        event.error_code[:_ERROR_CODE_MAX],
        event.error_text,
        Jsonb(dict(event.billing)),
        Jsonb(raw_detail(event.raw)),
        event.occurred_at or now,
        now,
        message_id,
        Message.OUTBOUND,
        Channel.SMS,
        token_generation,
    ]
    return queries.report_inbox_insert(params)


def report_store_by_provider_id(
    *, traffic_account_id: uuid.UUID, provider_ids: list[str], token_generation: int, event: StatusEvent
) -> uuid.UUID | None:
    """Store a ``/smsbulk`` report: ``event`` for the account's outbound SMS whose stored provider
    id is one of ``provider_ids`` (the spellings Mitto may use), if the account's callback tokens
    are still of ``token_generation``; returns the message id, or ``None`` when nothing was stored
    (the caller then answers as before: a retry while the ids are not stored yet). Must not run
    inside a transaction: the caller acknowledges the report right after."""
    now = timezone.now()
    params = [
        event.status,
        event.error_code[:_ERROR_CODE_MAX],
        event.error_text,
        Jsonb(dict(event.billing)),
        Jsonb(raw_detail(event.raw)),
        event.occurred_at or now,
        now,
        traffic_account_id,
        [provider_id[:_PROVIDER_ID_MAX] for provider_id in provider_ids],
        Message.OUTBOUND,
        Channel.SMS,
        token_generation,
    ]
    return queries.report_inbox_insert_by_provider_id(params)


def report_drain_request() -> None:
    """Publish a drain unless one was requested within the last ``REPORT_DRAIN_TRIGGER_MS``.

    Never raises: the report is already stored, and beat's sweep drains it if this fails."""
    from channels_app.tasks import drain_reports

    try:
        if not get_redis().set(DRAIN_REQUESTED_KEY, b"1", nx=True, px=settings.REPORT_DRAIN_TRIGGER_MS):
            return
        drain_reports.apply_async(retry=False)
    except Exception:
        logger.exception("report drain request failed; the sweep applies the stored reports")


def report_drain_requested() -> bool:
    """Whether a report asked for a drain since the last drain started (``False`` when Redis
    cannot tell: the sweep covers that)."""
    try:
        return bool(get_redis().exists(DRAIN_REQUESTED_KEY))
    except Exception:
        logger.warning("could not read the report drain request", exc_info=True)
        return False


def report_drain_request_clear() -> None:
    """Called by the drain before it reads the inbox, so a report stored from now on publishes
    a drain of its own instead of relying on this one having seen it."""
    try:
        get_redis().delete(DRAIN_REQUESTED_KEY)
    except Exception:
        logger.warning("could not clear the report drain request; the next sweep drains", exc_info=True)
