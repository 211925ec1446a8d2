"""Case-insensitive API paths.

The Chat API documentation writes one endpoint as ``/Message/send``, ``/message/send`` and
``/messages/send``; clients copy whichever they read. API paths are lower-cased before URL
resolution so every spelling reaches the same handler (ids in paths are UUIDs, and WhatsApp
template names are lower-case by the provider's rule, so nothing meaningful is lost). The guide
also prints login without ``/api`` (``/v1/Customers/login``), so those paths are lower-cased too.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from gateway.problems import problem_response


class CaseInsensitiveApiPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path[:5].lower() == "/api/" or path[:4].lower() == "/v1/" or path[:6].lower() == "/v1.1/":
            request.path_info = path.lower()
        return self.get_response(request)


class NulQueryRefusingMiddleware:
    """A NUL in the path or a query parameter is a 400 problem: PostgreSQL cannot compare text
    with one, so it used to fail in the database as a 500 (``?destination=%00``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            detail = "The path and query parameters must not contain NUL characters."
            return problem_response(400, detail, "malformed-request")
        return self.get_response(request)
