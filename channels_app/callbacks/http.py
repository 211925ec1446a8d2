"""The raw callback as adapters see it, and the few answers a provider gets back.

Answers carry no detail that would help a prober: an unknown account and a wrong channel look
the same, and a rejection does not say which check failed (the log does).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from channels_app.providers.base import CallbackRejected, CallbackRequest
from gateway.problems import problem_response

# Seconds a provider is asked to wait before resending a report that came too early.
RETRY_AFTER_SECONDS = 5


def callback_request(request: HttpRequest) -> CallbackRequest:
    """The raw body bytes (signatures are computed over them), lower-cased headers and the query."""
    return CallbackRequest(
        method=request.method or "",
        body=request.body,
        headers={name.lower(): value for name, value in request.headers.items()},
        query=request.GET.dict(),
    )


def accepted(text: str = "") -> HttpResponse:
    return HttpResponse(text, status=200, content_type="text/plain; charset=utf-8")


def rejected(error: CallbackRejected) -> HttpResponse:
    if error.status_code == 403:
        return problem_response(403, "The callback is not allowed.")
    return problem_response(401, "The callback could not be authenticated.")


def not_found() -> HttpResponse:
    return problem_response(404, "Not found.")


def malformed() -> HttpResponse:
    return problem_response(400, "The callback body could not be read.")


def retry_later() -> HttpResponse:
    response = problem_response(409, "The callback names a message that is not recorded yet; send it again later.")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
