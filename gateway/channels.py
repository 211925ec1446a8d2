"""The channels a traffic account can be bound to: values stored in the database and named by
every app, so they live in this leaf module that imports nothing of ours."""

from __future__ import annotations

from typing import ClassVar


class Channel:
    """The five channels a traffic account can be bound to (values stored in the database)."""

    SMS = "sms"
    WHATSAPP = "whatsapp"
    VIBER = "viber"
    GBM = "gbm"
    TELEGRAM = "telegram"

    ALL: ClassVar[tuple[str, ...]] = (SMS, WHATSAPP, VIBER, GBM, TELEGRAM)
