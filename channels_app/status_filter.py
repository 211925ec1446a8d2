"""The ``deliveryStatus`` query filter: case-insensitive, validated, with the guide's ``Created``.

An unknown status used to match nothing and answer an empty 200, which a client cannot tell from
"no such messages"; it is a 400 naming the valid values instead. The guide's ``Created`` is not a
status here: it means a message that was triggered (every message except a failover hop still
waiting, or one cancelled before it was ever triggered), which ``triggered_at`` records.
"""

from __future__ import annotations

from django.db.models import Q
from rest_framework import exceptions

from channels_app.status import Status

CREATED = "Created"
# Every value the filter takes, in the spelling the API answers with.
FILTER_VALUES: list[str] = [*(status for status, _ in Status.CHOICES), CREATED]
_BY_LOWER = {value.lower(): value for value in FILTER_VALUES}


def delivery_status_canonical(value: str, *, parameter: str = "deliveryStatus") -> str:
    """The canonical spelling of ``value``; a 400 problem listing the valid ones otherwise."""
    canonical = _BY_LOWER.get(value.strip().lower())
    if canonical is None:
        valid = ", ".join(FILTER_VALUES)
        raise exceptions.ValidationError({parameter: [f"Unknown delivery status. Use one of {valid}."]})
    return canonical


def delivery_status_q(canonical: str) -> Q:
    """The rows a canonical filter value selects."""
    if canonical == CREATED:
        return Q(triggered_at__isnull=False)
    return Q(status=canonical)
