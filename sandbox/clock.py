"""Timestamps in the formats the providers put on the wire."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso_millis(epoch: float | None = None) -> str:
    """``2019-04-13T12:07:57.860Z`` (Mitto, the recordings)."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def rfc3339_nanos(epoch: float | None = None) -> str:
    """``2024-05-02T09:15:27.123456000Z`` (Google's JSON timestamps)."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def epoch_seconds() -> int:
    return int(time.time())


def epoch_millis() -> int:
    return int(time.time() * 1000)
