"""Request body limits, enforced before any view reads the body.

DRF parses JSON from the raw stream and never consults Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``,
so without this a login or a webhook change could be sent megabytes to parse. Most endpoints take
a few KiB (``MAX_REQUEST_BYTES``, 64 KiB); sendbulk takes up to ``SENDBULK_MAX_REQUEST_BYTES``
and provider callbacks up to ``CALLBACK_MAX_REQUEST_BYTES``. Bigger bodies get 413 as
problem+json. Django's WSGI request reads at most ``Content-Length`` bytes (none without it), so
the declared length is the whole body a view can see.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from gateway.problems import problem_response

SENDBULK_PATH = re.compile(r"^/api/v1(\.1)?/messages?/sendbulk/?$", re.IGNORECASE)


def body_limit(path: str) -> int:
    if SENDBULK_PATH.match(path):
        return settings.SENDBULK_MAX_REQUEST_BYTES
    if path.startswith("/callbacks/"):
        return settings.CALLBACK_MAX_REQUEST_BYTES
    return settings.MAX_REQUEST_BYTES


def _too_large(limit: int) -> HttpResponse:
    return problem_response(413, f"The request body is larger than {limit} bytes.", "payload-too-large", maxBytes=limit)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(request.path_info)
        length = request.META.get("CONTENT_LENGTH") or ""
        if length:
            try:
                declared = int(length)
            except ValueError:
                return problem_response(400, "Content-Length is not a number.", "malformed-request")
            if declared > limit:
                return _too_large(limit)
        return self.get_response(request)
