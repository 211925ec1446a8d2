"""The request id: accepted from (or made for) each HTTP request, returned in ``X-Request-ID``,
bound to every log line of the request, and carried into the Celery tasks it publishes, so the
worker's lines about a message name the request that sent it.

A task published while a request is being handled carries that request's id in its headers
(``before_task_publish``) and the worker binds it around the task (``task_prerun``). Single
sends leave from a background publisher thread that batches several requests into one dispatch
task, so for them the id is noted per message when accepted and the task carries a map of
message id to request id. Provider callbacks are new requests with ids of their own: they join
the message's story through the message id every line about a message carries.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars

REQUEST_ID_HEADER = "X-Request-ID"
# What an accepted id may look like: bounded, and nothing that could forge a log field or line.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")
# Task headers (kept short: they ride on every task message).
TASK_HEADER = "gw_request_id"
TASK_MAP_HEADER = "gw_request_ids"
DISPATCH_TASK = "channels.dispatch_messages"
# Requests that are polled every few seconds are not worth a line each.
_UNLOGGED_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})

access_log = structlog.get_logger("gateway.access")
logger = logging.getLogger(__name__)

# Per task: message id -> request id, for tasks that carry several requests' messages.
_task_request_ids: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "gw_task_request_ids", default=None
)


def request_id_from(value: str | None) -> str:
    """The client's id when it is well-formed, else a new one."""
    if value and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return get_contextvars().get("request_id")


def request_id_for(message_id: object) -> str | None:
    """The request that sent a message, as far as the running task knows."""
    per_message = _task_request_ids.get()
    if per_message and str(message_id) in per_message:
        return per_message[str(message_id)]
    return current_request_id()


class RequestContextMiddleware:
    """Outermost middleware: binds the request id for the whole request, one access line after."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        clear_contextvars()
        bind_contextvars(request_id=request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            if request.path_info not in _UNLOGGED_PATHS:
                # The path only: query strings carry callback tokens.
                access_log.info(
                    "request",
                    method=request.method,
                    path=request.path_info[:200],
                    status=response.status_code,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
            return response
        finally:
            clear_contextvars()


# ---- request ids of messages that leave through the batching publisher ---------------------------

_ORIGINS_MAX = 50_000
_origins: OrderedDict[str, str] = OrderedDict()
_origins_lock = threading.Lock()


def note_message_origins(message_ids: Iterable[uuid.UUID]) -> None:
    """Remember the current request id for messages published later from another thread."""
    request_id = current_request_id()
    if request_id is None:
        return
    with _origins_lock:
        for message_id in message_ids:
            _origins[str(message_id)] = request_id
        while len(_origins) > _ORIGINS_MAX:  # publishes that never happened must not pile up
            _origins.popitem(last=False)


def _take_origins(message_ids: Iterable[str]) -> dict[str, str]:
    with _origins_lock:
        return {i: rid for i in message_ids if (rid := _origins.pop(i, None)) is not None}


# ---- Celery signal receivers (connected in gateway/celery.py) --------------------------------------


def on_before_task_publish(sender: str | None = None, body: Any = None, headers: dict | None = None, **_: Any) -> None:
    if headers is None:
        return
    request_id = current_request_id()
    if request_id is not None:
        headers[TASK_HEADER] = request_id
    if sender == DISPATCH_TASK and isinstance(body, tuple | list) and body and body[0]:
        message_ids = body[0][0] if isinstance(body[0][0], list) else []
        origins = _take_origins(message_ids)
        if origins:
            headers[TASK_MAP_HEADER] = origins


def _header(task: Any, name: str) -> Any:
    value = getattr(task.request, name, None)
    if value is None:
        value = (getattr(task.request, "headers", None) or {}).get(name)
    return value


def on_task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Bind the task and the request it came from; an eager task keeps its caller's context."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    clear_contextvars()
    fields: dict[str, Any] = {"task": task.name, "task_id": task_id}
    request_id = _header(task, TASK_HEADER)
    if isinstance(request_id, str):
        fields["request_id"] = request_id
    bind_contextvars(**fields)
    per_message = _header(task, TASK_MAP_HEADER)
    _task_request_ids.set(per_message if isinstance(per_message, dict) else None)


def on_task_postrun(task: Any = None, **_: Any) -> None:
    if task is None or getattr(task.request, "is_eager", False):
        return
    clear_contextvars()
    _task_request_ids.set(None)
