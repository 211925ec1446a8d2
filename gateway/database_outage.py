"""A database outage answers ``503 application/problem+json`` with ``Retry-After``, not a 500.

While PostgreSQL is down or restarting, every request that needs it fails with Django's
``OperationalError`` (cannot connect, connection lost) or ``InterfaceError`` (a connection
already closed). That is the server's state, not the request's fault, and it passes: clients
should retry later, and a 500 (or Django's HTML debug page under ``make run``) told them neither.

The middleware catches these from any view, DRF or plain Django (DRF re-raises what its
exception handler leaves alone), and ``server_error_view`` does the same for what escapes
elsewhere when ``DEBUG`` is off. Recovery needs no restart: the broken connection is closed
here, and the next request opens a new one (``CONN_HEALTH_CHECKS`` also tests a kept one first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse

from gateway.problems import problem_response

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)


def database_unavailable_response() -> HttpResponse:
    retry_after = settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS
    response = problem_response(
        503,
        "The database is unavailable; nothing was changed by this request. Retry later.",
        "database-unavailable",
        retryAfter=retry_after,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _close_broken_connections() -> None:
    for connection in connections.all(initialized_only=True):
        try:
            if connection.in_atomic_block:
                continue  # a caller's transaction: its own block closes or rolls it back
            connection.close_if_unusable_or_obsolete()
        except DATABASE_ERRORS:
            connection.close()


def database_outage_answer(exc: BaseException) -> HttpResponse | None:
    """The 503 for a database error (closing the broken connection first), else ``None``."""
    if not isinstance(exc, DATABASE_ERRORS):
        return None
    logger.warning("database unavailable: %s: %s", type(exc).__name__, str(exc).strip().splitlines()[:1])
    _close_broken_connections()
    return database_unavailable_response()


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return database_outage_answer(exception)
