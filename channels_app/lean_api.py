"""The hot API routes (send, sendbulk) served without DRF's per-request machinery.

Every request through an ``APIView`` pays for a ``Request`` wrapper, content negotiation, parser
selection, authentication, permission and throttle objects, and a ``Response`` rendered through
Django's template-response path: a measurable share of a send's CPU
(docs/performance-hot-paths.md). ``LeanJSONPostView`` is still an ``APIView``, so the OpenAPI
document is generated from the same ``extend_schema`` as before and the view stays exempt from
CSRF, but it answers an ordinary ``POST`` itself, in the order DRF would:

1. authentication: ``accounts_app.authentication.bearer_customer``, the code ``JWTAuthentication``
   runs (401 problem with ``WWW-Authenticate``);
2. the customer's rate limit: ``accounts_app.api_rate.retry_after`` (429 with ``Retry-After``);
3. the body: parsed once with orjson (415 for a content type DRF's JSON parser refuses, no
   body reads as ``{}`` as DRF has it); a body orjson refuses or could read differently from
   Python's parser (another charset, an integer beyond 64 bits) goes through DRF's own parser, so
   what is accepted and every parse error message stay DRF's;
4. the view's ``answer_post``, whose result is serialised once with orjson;
5. any exception goes through ``gateway.problems.problem_exception_handler``, the handler DRF
   uses, so each problem body is the same; what it leaves alone (a database outage) propagates
   to the middleware, which answers 503 as before.

A request this path does not model (another method, an ``Accept`` header other than none,
``*/*`` or ``application/json``, a ``?format=``) takes DRF's full cycle, which answers it exactly
as before (405, ``OPTIONS``, 406, ``Accept: application/json; indent=4``); the view's ``post`` then
runs the same ``answer`` functions. The body limit (413) is enforced before any view, by
``gateway.body_limit``.
"""

from __future__ import annotations

import io
import re
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.mediatypes import media_type_matches
from rest_framework.views import APIView

from accounts_app.api_rate import retry_after
from accounts_app.authentication import BEARER_CHALLENGE, bearer_customer
from accounts_app.models import Customer
from gateway.parsers import BoundedJSONParser
from gateway.problems import problem_exception_handler

JSON = "application/json"
# Accept headers whose negotiation cannot end anywhere but DRF's plain JSONRenderer. An empty
# header is not among them: DRF answers it 406.
PLAIN_ACCEPT = frozenset({"*/*", JSON})
# A run of 19 digits may be an integer beyond 64 bits, which orjson reads as a float and Python
# as an int: such bodies are parsed by Python's decoder, as DRF did.
_MAYBE_BIG_INTEGER = re.compile(rb"\d{19}")
_UNICODE_LINE_SEPARATORS = (b"\xe2\x80\xa8", b"\xe2\x80\xa9")
_UTF8 = frozenset({"utf-8", "utf8"})


def json_bytes(body: Any) -> bytes:
    """``body`` encoded exactly as DRF's JSONRenderer encodes it (compact, UTF-8, U+2028/U+2029
    escaped for JavaScript), with orjson; whatever orjson cannot encode goes to the renderer."""
    try:
        encoded = orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError is one: lazy strings, huge ints, non-str keys
        return JSONRenderer().render(body)
    if _UNICODE_LINE_SEPARATORS[0] in encoded or _UNICODE_LINE_SEPARATORS[1] in encoded:
        encoded = encoded.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return encoded


def json_response(body: Any, status: int = 200, content_type: str = JSON) -> HttpResponse:
    return HttpResponse(json_bytes(body), status=status, content_type=content_type)


def request_json(request: HttpRequest) -> Any:
    """The request's JSON body as DRF's ``request.data`` has it, parsed once."""
    meta = request.META
    try:
        length = int(meta.get("CONTENT_LENGTH", meta.get("HTTP_CONTENT_LENGTH", 0)))
    except (ValueError, TypeError):
        length = 0
    if length == 0:
        return {}  # DRF: no body is empty data, whatever the content type
    content_type = meta.get("CONTENT_TYPE", meta.get("HTTP_CONTENT_TYPE", ""))
    if content_type != JSON and not media_type_matches(JSON, content_type):
        raise exceptions.UnsupportedMediaType(content_type)
    # DRF's Request makes the same choice (``_read_started`` is Django's, absent from the stubs).
    raw = request.body if request._read_started else request.read()  # type: ignore[attr-defined]
    encoding = request.encoding or settings.DEFAULT_CHARSET
    if encoding.lower() in _UTF8 and not _MAYBE_BIG_INTEGER.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # DRF's parser gives the error its own message (or reads what orjson would not)
    return BoundedJSONParser().parse(io.BytesIO(raw), content_type, {"encoding": encoding})


def _lean(request: HttpRequest) -> bool:
    """Whether DRF's cycle would reach the view's ``post`` with the JSON renderer chosen."""
    if request.method != "POST" or request.META.get("HTTP_ACCEPT", "*/*") not in PLAIN_ACCEPT:
        return False
    format_override = api_settings.URL_FORMAT_OVERRIDE
    return not (format_override and request.META.get("QUERY_STRING") and format_override in request.GET)


class LeanJSONPostView(APIView):
    """An APIView whose POST is served without DRF's request cycle (see the module docstring).

    Subclasses implement ``answer_post``; their ``post`` (documented with ``extend_schema``) serves
    the requests that still take DRF's cycle and must answer the same."""

    def answer_post(self, request: HttpRequest, customer: Customer, payload: Any) -> HttpResponse:
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not _lean(request):
            return super().dispatch(request, *args, **kwargs)
        # DRF keeps its Request here; the lean path has none, and nothing it calls reads more.
        self.args, self.kwargs, self.request = args, kwargs, request  # type: ignore[assignment]
        try:
            authenticated = bearer_customer(request)
            if authenticated is None:
                raise exceptions.NotAuthenticated()
            customer = authenticated[0]
            wait = retry_after(customer)
            if wait is not None:
                raise exceptions.Throttled(wait)
            response = self.answer_post(request, customer, request_json(request))
        except Exception as exc:
            problem = self._problem(request, exc)
            if problem is None:
                raise  # not an API error: the middleware answers (a database outage is a 503)
            response = problem
        response["Allow"] = ", ".join(self.allowed_methods)  # as DRF's finalize_response adds it
        return response

    def _problem(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            exc.auth_header = BEARER_CHALLENGE  # type: ignore[union-attr]  # APIView.handle_exception sets it too
        context = {"view": self, "args": self.args, "kwargs": self.kwargs, "request": request}
        problem: Response | None = problem_exception_handler(exc, context)
        if problem is None:
            return None
        response = json_response(problem.data, problem.status_code, problem.content_type or "application/json")
        for header, value in problem.items():
            if header.lower() != "content-type":
                response[header] = value
        return response
