"""Where the sandbox keeps its state and how it paces callbacks, from the environment.

The sandbox must run without Django's request machinery (and even without Django settings, when
served by a bare ``gunicorn sandbox.app:application``), so Django settings are only
consulted for ``REDIS_URL`` and only when they load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

DEFAULT_REDIS_URL = "redis://127.0.0.1:26379/0"
DEFAULT_KEY_PREFIX = "sandbox:"


def _django_redis_url() -> str | None:
    try:
        from django.conf import settings

        return str(getattr(settings, "REDIS_URL", "")) or None
    except Exception:  # Django missing or its settings refuse to load: fall back to the environment.
        return None


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class SandboxConfig:
    redis_url: str = DEFAULT_REDIS_URL
    # Every key starts with this, so test runs and benchmarks can share one Redis safely.
    key_prefix: str = DEFAULT_KEY_PREFIX
    # Seconds between a successful send and its delivery report when no behaviour says otherwise.
    report_delay: float = 0.2
    # Recording is a capped list: benchmarks must not grow Redis without bound.
    record_limit: int = 10_000
    callback_log_limit: int = 5_000
    callback_threads: int = 8
    callback_attempts: int = 5
    # First retry delay of a failed callback POST; doubles per attempt, like the providers do.
    callback_backoff: float = 1.0
    callback_timeout: float = 5.0
    poll_interval: float = 0.01
    # A "timeout" behaviour without timeoutSeconds hangs this long (longer than adapters wait).
    default_hang: float = 15.0
    max_hang: float = 120.0

    @classmethod
    def from_env(cls, **overrides: Any) -> SandboxConfig:
        """``SANDBOX_*`` variables, then Django's ``REDIS_URL``, then ``REDIS_URL``, then defaults."""
        redis_url = (
            os.environ.get("SANDBOX_REDIS_URL")
            or _django_redis_url()
            or os.environ.get("REDIS_URL")
            or DEFAULT_REDIS_URL
        )
        config = cls(
            redis_url=redis_url,
            key_prefix=os.environ.get("SANDBOX_KEY_PREFIX") or DEFAULT_KEY_PREFIX,
            report_delay=_env_float("SANDBOX_REPORT_DELAY", cls.report_delay),
            record_limit=_env_int("SANDBOX_RECORD_LIMIT", cls.record_limit),
            callback_log_limit=_env_int("SANDBOX_CALLBACK_LOG_LIMIT", cls.callback_log_limit),
            callback_threads=_env_int("SANDBOX_CALLBACK_THREADS", cls.callback_threads),
            callback_attempts=_env_int("SANDBOX_CALLBACK_ATTEMPTS", cls.callback_attempts),
            callback_backoff=_env_float("SANDBOX_CALLBACK_BACKOFF", cls.callback_backoff),
            callback_timeout=_env_float("SANDBOX_CALLBACK_TIMEOUT", cls.callback_timeout),
        )
        return replace(config, **overrides)
