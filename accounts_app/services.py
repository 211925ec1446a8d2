"""Customer login and password change."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from rest_framework import exceptions

from accounts_app.login_throttle import Attempt, LoginThrottled, attempt_reserve
from accounts_app.models import Customer
from accounts_app.tokens import IssuedToken, token_issue

BAD_CREDENTIALS = "The email or password is incorrect."
THROTTLED = "Too many password attempts from this address or for this account; try again later."


def password_attempt(*, request: HttpRequest, account: str) -> Attempt:
    """Reserve one password check (``login_throttle``) or answer 429 with ``Retry-After``."""
    try:
        return attempt_reserve(request=request, account=account)
    except LoginThrottled as exc:
        raise exceptions.Throttled(wait=exc.retry_after, detail=THROTTLED) from None


def customer_login(*, request: HttpRequest, email: str, password: str) -> IssuedToken:
    """Check the credentials and issue a token.

    The attempt is counted per client address and per account before Argon2 runs (see
    ``login_throttle``). Unknown and known emails fail with the same answer and similar timing
    (Django hashes a dummy password for unknown ones), and count the same.
    """
    email = email.strip().lower()
    attempt = password_attempt(request=request, account=email)
    customer = authenticate(request, email=email, password=password)
    if customer is None:
        raise exceptions.AuthenticationFailed(BAD_CREDENTIALS)
    attempt.succeeded()
    return token_issue(customer=customer)


def customer_change_password(
    *, request: HttpRequest, customer: Customer, current_password: str, new_password: str
) -> None:
    """Set a new password and revoke every token issued before it. Checking the current
    password counts against the same limits as a login: a stolen token must not become an
    unthrottled password oracle."""
    attempt = password_attempt(request=request, account=customer.email)
    if not customer.check_password(current_password):
        raise exceptions.ValidationError({"currentPassword": ["The current password is incorrect."]})
    attempt.succeeded()
    try:
        validate_password(new_password, user=customer)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({"newPassword": list(exc.messages)}) from exc
    with transaction.atomic():
        customer.set_password(new_password)
        customer.token_version = F("token_version") + 1
        customer.save(update_fields=["password", "token_version"])
    customer.refresh_from_db(fields=["token_version"])
