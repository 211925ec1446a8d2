"""DRF authentication with the Chat API's Bearer JWTs."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from structlog.contextvars import bind_contextvars

from accounts_app.cache import customer_for_token
from accounts_app.models import Customer
from accounts_app.tokens import InvalidToken, token_decode


class CustomerRequest(Request):
    """A request past JWTAuthentication and IsAuthenticated (the API's defaults): its user is a Customer.

    DRF types `request.user` as any user or AnonymousUser; views behind the defaults annotate their
    request with this class so the type checker knows the customer every query is scoped to.
    """

    user: Customer


class JWTAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: HttpRequest) -> tuple[Customer, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None  # IsAuthenticated turns this into a 401 problem
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        try:
            claims = token_decode(token.strip())
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        customer = customer_for_token(claims.customer_id, claims.version)
        if customer is None or customer.token_version != claims.version:
            raise exceptions.AuthenticationFailed("The token has been revoked.")
        bind_contextvars(customer_id=str(customer.id))  # every later line of this request names it
        return customer, token

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Bearer realm="api"'
