"""DRF authentication with the Chat API's Bearer JWTs."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework import authentication, exceptions
from structlog.contextvars import bind_contextvars

from accounts_app.cache import customer_for_token
from accounts_app.models import Customer
from accounts_app.tokens import InvalidToken, token_decode


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
