"""Which traffic account a callback is addressed to (by the id in its path or ``?ta=``)."""

from __future__ import annotations

from uuid import UUID

from accounts_app.models import TrafficAccount


def callback_account(raw_id: str | None, *, channel: str) -> TrafficAccount | None:
    """The account of ``channel`` with that id; ``None`` for anything else, so an unknown and an
    other-channel account are indistinguishable to the caller. A deactivated account is found:
    reports on what it sent before are still recorded (``parse_and_apply`` keeps only those)."""
    try:
        account_id = UUID(str(raw_id))
    except ValueError:
        return None
    return TrafficAccount.objects.filter(id=account_id, channel=channel).first()
