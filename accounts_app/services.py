"""Customer login and password change."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from rest_framework import exceptions

from accounts_app.models import Customer
from accounts_app.tokens import IssuedToken, token_issue
from gateway.redis import get_redis

BAD_CREDENTIALS = "The email or password is incorrect."


def _failure_key(email: str) -> str:
    return f"gw:login-failures:{email}"


def customer_login(*, email: str, password: str) -> IssuedToken:
    """Check the credentials and issue a token, throttling repeated failures per account.

    Throttling is keyed on the account (the email), not the client address, so a password
    guessing run spread over many addresses is still stopped. Unknown and known emails fail
    with the same answer and similar timing (Django hashes a dummy password for unknown ones).
    """
    email = email.strip().lower()
    key = _failure_key(email)
    client = get_redis()
    failures = int(client.get(key) or 0)
    if failures >= settings.LOGIN_MAX_FAILURES:
        ttl = client.ttl(key)
        raise exceptions.Throttled(
            wait=ttl if ttl and ttl > 0 else settings.LOGIN_FAILURE_WINDOW_SECONDS,
            detail="Too many failed logins for this account; try again later.",
        )
    customer = authenticate(email=email, password=password)
    if customer is None:
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, settings.LOGIN_FAILURE_WINDOW_SECONDS, nx=True)
            pipe.execute()
        raise exceptions.AuthenticationFailed(BAD_CREDENTIALS)
    client.delete(key)
    return token_issue(customer=customer)


def customer_change_password(*, customer: Customer, current_password: str, new_password: str) -> None:
    """Set a new password and revoke every token issued before it."""
    if not customer.check_password(current_password):
        raise exceptions.ValidationError({"currentPassword": ["The current password is incorrect."]})
    try:
        validate_password(new_password, user=customer)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({"newPassword": list(exc.messages)}) from exc
    with transaction.atomic():
        customer.set_password(new_password)
        customer.token_version = F("token_version") + 1
        customer.save(update_fields=["password", "token_version"])
    customer.refresh_from_db(fields=["token_version"])
