"""RFC 7807 problem responses for every error the API returns.

Field errors carry JSON paths (``telegram.text.message``, ``destinations[3]``) so a client can
point at the exact input that was refused, however deeply nested.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://gateway.example/problems/"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

_TYPES = {
    exceptions.ValidationError: "validation-error",
    exceptions.ParseError: "malformed-request",
    exceptions.AuthenticationFailed: "unauthorized",
    exceptions.NotAuthenticated: "unauthorized",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "method-not-allowed",
    exceptions.UnsupportedMediaType: "unsupported-media-type",
    exceptions.Throttled: "too-many-requests",
}


class ProblemException(exceptions.APIException):
    """Raise from services to answer with a specific problem type and status."""

    def __init__(
        self, *, status_code: int, problem_type: str, detail: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail=detail)
        self.status_code = status_code
        self.problem_type = problem_type
        self.extra = extra or {}


def flatten_errors(detail: Any, path: str = "") -> Iterator[dict[str, str]]:
    """Turn DRF's nested error detail into ``[{"path": "a.b[2].c", "message": ...}]``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                yield from flatten_errors(value, path)
            else:
                yield from flatten_errors(value, f"{path}.{key}" if path else str(key))
    elif isinstance(detail, list):
        if all(isinstance(item, str | exceptions.ErrorDetail) for item in detail):
            for item in detail:
                yield {"path": path or "$", "message": str(item)}
        else:
            for index, item in enumerate(detail):
                if item:
                    yield from flatten_errors(item, f"{path}[{index}]")
    else:
        yield {"path": path or "$", "message": str(detail)}


def problem_body(status_code: int, detail: str, problem_type: str = "about:blank", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type if problem_type == "about:blank" else PROBLEM_BASE + problem_type,
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    body.update(extra)
    return body


def problem_response(status_code: int, detail: str, problem_type: str = "about:blank", **extra: Any) -> JsonResponse:
    """A plain Django response (for views outside DRF: health, callbacks, 404s)."""
    return JsonResponse(
        problem_body(status_code, detail, problem_type, **extra),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected errors propagate to Django's 500 handler
    status_code = response.status_code
    extra: dict[str, Any] = {}
    if isinstance(exc, ProblemException):
        problem_type, detail = exc.problem_type, str(exc.detail)
        extra.update(exc.extra)
    elif isinstance(exc, exceptions.ValidationError):
        problem_type = "validation-error"
        extra["errors"] = list(flatten_errors(exc.detail))
        detail = "The request has invalid fields: " + ", ".join(sorted({e["path"] for e in extra["errors"]}))
    else:
        problem_type = next((t for cls, t in _TYPES.items() if isinstance(exc, cls)), "error")
        detail = str(getattr(exc, "detail", exc))
    # DRF's Throttled sets `wait` in __init__; its stubs do not declare the attribute.
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:  # type: ignore[attr-defined]
        extra["retryAfter"] = int(exc.wait + 0.999)  # type: ignore[attr-defined]
    response.data = problem_body(status_code, detail, problem_type, **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    if status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(404, f"No resource at {request.path}.", "not-found")


def server_error_view(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: a database outage that escaped the
    # middleware (raised outside a view) is still a 503, not a 500.
    from gateway.database_outage import database_outage_answer

    error = sys.exc_info()[1]
    outage = database_outage_answer(error) if error is not None else None
    if outage is not None:
        return outage
    return problem_response(500, "The gateway failed to handle this request; it has been logged.", "server-error")
