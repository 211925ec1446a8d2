"""What a destination should experience: the outcome of a send and the report that follows.

Behaviours are stored as normalised JSON (only the keys that were given), because the send
script in Redis reads ``outcome``, ``times``, ``report`` and ``reportDelaySeconds`` from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUCCESS = "success"
FAIL = "fail"
THROTTLE = "throttle"
TIMEOUT = "timeout"
OUTCOMES = (SUCCESS, FAIL, THROTTLE, TIMEOUT)

DELIVERED = "delivered"
READ = "read"
FAILED = "failed"
NONE = "none"
REPORTS = (DELIVERED, READ, FAILED, NONE)

_FIELDS = (
    "outcome", "errorCode", "errorText", "retryAfter", "times", "timeoutSeconds", "report",
    "reportDelaySeconds",
)


class InvalidBehaviour(ValueError):
    pass


def normalise_destination(value: str) -> str:
    """A phone number without its "+", so "+4179..." and "4179..." name one destination.

    Only numbers lose it: a Viber user id is base64 and may really start with "+".
    """
    value = value.strip()
    return value[1:] if value.startswith("+") and value[1:].isdigit() else value


def _number(data: Mapping[str, Any], key: str, *, minimum: float, maximum: float | None = None) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidBehaviour(f"{key} must be a number")
    if value < minimum or (maximum is not None and value > maximum):
        raise InvalidBehaviour(f"{key} must be between {minimum} and {maximum}")
    return float(value)


def normalise(data: Any, *, max_hang: float) -> dict[str, Any]:
    """The stored form of a ``PUT /_sandbox/behaviours/{destination}`` body, or ``InvalidBehaviour``."""
    if not isinstance(data, Mapping):
        raise InvalidBehaviour("the behaviour must be a JSON object")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise InvalidBehaviour(f"unknown fields: {', '.join(unknown)}")
    stored: dict[str, Any] = {"outcome": data.get("outcome") or SUCCESS}
    if stored["outcome"] not in OUTCOMES:
        raise InvalidBehaviour(f"outcome must be one of {', '.join(OUTCOMES)}")
    if data.get("report") is not None:
        if data["report"] not in REPORTS:
            raise InvalidBehaviour(f"report must be one of {', '.join(REPORTS)}")
        stored["report"] = data["report"]
    if data.get("errorCode") is not None:
        code = data["errorCode"]
        if isinstance(code, str) and code.strip().lstrip("-").isdigit():
            code = int(code)
        if isinstance(code, bool) or not isinstance(code, int | str):
            raise InvalidBehaviour("errorCode must be an integer or a string")
        stored["errorCode"] = code
    if data.get("errorText") is not None:
        stored["errorText"] = str(data["errorText"])
    if data.get("times") is not None:
        times = data["times"]
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise InvalidBehaviour("times must be a positive integer")
        stored["times"] = times
    if data.get("retryAfter") is not None:
        stored["retryAfter"] = _number(data, "retryAfter", minimum=0, maximum=86_400)
    if data.get("timeoutSeconds") is not None:
        stored["timeoutSeconds"] = _number(data, "timeoutSeconds", minimum=0, maximum=max_hang)
    if data.get("reportDelaySeconds") is not None:
        stored["reportDelaySeconds"] = _number(data, "reportDelaySeconds", minimum=0, maximum=86_400)
    return stored


@dataclass(frozen=True)
class Behaviour:
    """A stored behaviour as the provider modules read it when building an answer or a report."""

    outcome: str = SUCCESS
    error_code: int | str | None = None
    error_text: str | None = None
    retry_after: float | None = None
    timeout_seconds: float | None = None
    report: str = DELIVERED

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Behaviour:
        if not data:
            return cls()
        return cls(
            outcome=str(data.get("outcome") or SUCCESS),
            error_code=data.get("errorCode"),
            error_text=data.get("errorText"),
            retry_after=data.get("retryAfter"),
            timeout_seconds=data.get("timeoutSeconds"),
            report=str(data.get("report") or DELIVERED),
        )

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> Behaviour:
        return cls.from_mapping(json.loads(raw) if raw else None)

    def code_or(self, default: int) -> int | str:
        return self.error_code if self.error_code is not None else default

    def int_code_or(self, default: int) -> int:
        """The error code as an integer; a non-numeric code falls back to ``default``."""
        code = self.error_code
        if isinstance(code, int):
            return code
        if isinstance(code, str) and code.strip().lstrip("-").isdigit():
            return int(code)
        return default

    def retry_after_seconds(self, default: int = 1) -> int:
        """Whole seconds, as Retry-After and Telegram's ``retry_after`` carry them."""
        if self.retry_after is None:
            return default
        return max(0, round(self.retry_after))
