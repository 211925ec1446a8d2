"""DRF authentication with the Chat API's Bearer JWTs.

``bearer_customer`` is the whole decision, shared by the DRF authentication class and the lean
hot-route views (``channels_app.lean_api``) so both refuse exactly the same requests. A token's
signature is verified once per process (``accounts_app.cache.claims_for_token``); whether it is
revoked, and whether its customer is still active, is checked on every request.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from structlog.contextvars import bind_contextvars

from accounts_app.cache import claims_for_token, customer_for_token
from accounts_app.models import Customer
from accounts_app.tokens import InvalidToken

BEARER_CHALLENGE = 'Bearer realm="api"'


def bearer_customer(request: HttpRequest) -> tuple[Customer, str] | None:
    """The active customer and token of the request's ``Authorization: Bearer`` header.

    None without the header (the caller answers 401 "not provided"); ``AuthenticationFailed`` for
    any other scheme, a forged, malformed or expired token, a revoked one (an older ``ver`` than
    the customer's) or a deactivated customer."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
    try:
        claims = claims_for_token(token)
    except InvalidToken as exc:
        raise exceptions.AuthenticationFailed(str(exc)) from exc
    customer = customer_for_token(claims.customer_id, claims.version)
    if customer is None or not customer.is_active or customer.token_version != claims.version:
        raise exceptions.AuthenticationFailed("The token has been revoked.")
    bind_contextvars(customer_id=str(customer.id))  # every later line of this request names it
    return customer, token


class CustomerRequest(Request):
    """A request past JWTAuthentication and IsAuthenticated (the API's defaults): its user is a Customer.

    DRF types `request.user` as any user or AnonymousUser; views behind the defaults annotate their
    request with this class so the type checker knows the customer every query is scoped to.
    """

    user: Customer


class JWTAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: HttpRequest) -> tuple[Customer, str] | None:
        return bearer_customer(request)  # None: IsAuthenticated turns it into a 401 problem

    def authenticate_header(self, request: HttpRequest) -> str:
        return BEARER_CHALLENGE
