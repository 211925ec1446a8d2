"""Chat API access tokens: HS256 JWTs with a one-hour lifetime, issuer and audience checked.

The signing key is separate from Django's SECRET_KEY so either can be rotated alone. The
``ver`` claim ties a token to the customer's password generation: a password change revokes
every token issued before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt
from django.conf import settings

from accounts_app.models import Customer

ALGORITHMS = ["HS256"]  # the allow-list: "none" and asymmetric algorithms are refused


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenClaims:
    customer_id: UUID
    version: int
    expires_at: float  # the ``exp`` claim (Unix seconds): a cached verification ends there


class InvalidToken(Exception):
    pass


def token_issue(*, customer: Customer, now: datetime | None = None) -> IssuedToken:
    issued_at = (now or datetime.now(UTC)).replace(microsecond=0)
    expires_at = issued_at + timedelta(seconds=settings.JWT_LIFETIME_SECONDS)
    claims = {
        "sub": str(customer.id),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires_at,
        "ver": customer.token_version,
    }
    token = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256")
    return IssuedToken(token=token, expires_at=expires_at)


def token_decode(token: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SIGNING_KEY,
            algorithms=ALGORITHMS,
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        return TokenClaims(
            customer_id=UUID(claims["sub"]), version=int(claims.get("ver", -1)), expires_at=float(claims["exp"])
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("The token has expired.") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise InvalidToken("The token is invalid.") from exc
