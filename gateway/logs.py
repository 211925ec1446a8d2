"""Structured logs: one JSON object per line from web, worker and beat alike.

Our own code and every library log through the standard ``logging`` module or structlog; both
end in the same formatter, which adds what the context knows (request id, customer, traffic
account, task), redacts secrets and renders JSON. A line a log shipper cannot parse, or one that
carries a bearer token, is worse than no line.

Idle must be quiet: Celery announces every periodic sweep at INFO (beat's "Sending due task",
the worker's "received" and "succeeded"), four lines a second from sweeps that did nothing.
``QuietHousekeeping`` drops exactly those; a sweep that did work logs its own line.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

REDACTED = "[REDACTED]"

# Keys whose values are secrets wherever they appear in a log line (compared lower-case, "-" as "_").
SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "password",
        "new_password",
        "old_password",
        "current_password",
        "token",
        "credentials",
        "secret",
        "api_key",
        "signature",
        "webhook_signature",
        "service_account_json",
        "private_key",
        "signing_key",
        "secret_key",
        "jwt",
    }
)
SECRET_KEY_SUFFIXES = ("_token", "_secret", "_password", "_signing_keys", "_api_key")

# Secrets inside free text (exception messages, URLs): bearer tokens, secret query parameters,
# Telegram's bot token in the API path.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    (
        re.compile(r"(?i)\b((?:[a-z_]*token|secret|password|api_key|signature|key)=)[^&\s'\"]+"),
        r"\1" + REDACTED,
    ),
    (re.compile(r"/bot\d+:[A-Za-z0-9_-]+"), "/bot" + REDACTED),
)


def is_secret_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    name = key.lower().replace("-", "_")
    return name in SECRET_KEYS or name.endswith(SECRET_KEY_SUFFIXES)


def scrub_text(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redacted(key: object, value: Any, depth: int = 0) -> Any:
    if is_secret_key(key):
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if depth > 5:
        return value
    if isinstance(value, Mapping):
        return {k: _redacted(k, v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(None, v, depth + 1) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: secret keys at any depth lose their values, text loses embedded secrets."""
    return {key: _redacted(key, value) for key, value in event_dict.items()}


def add_process_id(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.setdefault("pid", os.getpid())
    return event_dict


# Run for every line: structlog's own and those from the standard library ("foreign").
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    add_process_id,
]


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """The formatter every handler uses: secrets redacted last, just before rendering."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# Loggers through which Celery announces each task and each beat tick, at INFO.
_CELERY_ANNOUNCERS = frozenset({"celery.beat", "celery.app.trace", "celery.worker.strategy"})


class QuietHousekeeping(logging.Filter):
    """Drops Celery's INFO announcements of the periodic housekeeping tasks (settings.HOUSEKEEPING_TASKS)."""

    def __init__(self) -> None:
        super().__init__()
        self._names: frozenset[str] | None = None

    def _housekeeping(self) -> frozenset[str]:
        if self._names is None:
            from django.conf import settings

            self._names = frozenset(settings.HOUSEKEEPING_TASKS)
        return self._names

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or record.name not in _CELERY_ANNOUNCERS:
            return True
        args = record.args
        if isinstance(args, Mapping):
            named = [args.get("name")]
        elif isinstance(args, tuple):
            named = list(args)
        else:
            named = []
        return not any(isinstance(name, str) and name in self._housekeeping() for name in named)


def logging_config(level: str) -> dict[str, Any]:
    """Django's LOGGING: JSON to stderr, housekeeping announcements dropped."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"quiet_housekeeping": {"()": QuietHousekeeping}},
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["quiet_housekeeping"]}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # Django's own handlers on "django" (a plain-text console one when DEBUG is on) would
            # print every request warning a second time, not as JSON: only the root's handler.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
        },
    }
