"""The 60-day purge of messages that were never Created (untriggered failover hops).

The Chat API guide (docs/chat-api.md): messages never triggered with the status Created are
deleted after 60 days and are not included in statistics. Deletion runs in small batches, each its own
short transaction, so it holds no long locks, and a run that stops half-way is simply re-run.
A message that was ever triggered (``triggered_at`` set) is never touched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.models import Message, MessageEvent

PURGE_BATCH = 2000


@dataclass
class PurgeSummary:
    messages: int = 0
    events: int = 0


def messages_purge_untriggered(*, older_than_days: int | None = None, batch: int = PURGE_BATCH) -> PurgeSummary:
    days = settings.PURGE_UNTRIGGERED_AFTER_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    summary = PurgeSummary()
    while True:
        with transaction.atomic():
            ids = list(
                Message.objects.filter(triggered_at__isnull=True, direction=Message.OUTBOUND, created_at__lt=cutoff)
                .order_by()
                .values_list("id", flat=True)[:batch]
                .select_for_update(skip_locked=True)
            )
            if not ids:
                return summary
            # Events and attempts go with their messages (Django deletes them with one statement each).
            _, per_model = Message.objects.filter(id__in=ids).delete()
            summary.messages += per_model.get(Message._meta.label, 0)
            summary.events += per_model.get(MessageEvent._meta.label, 0)
        if len(ids) < batch:
            return summary
