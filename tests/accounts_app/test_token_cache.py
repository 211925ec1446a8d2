"""Bearer tokens are verified once per process, but revocation, deactivation and expiry still hold."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.db.models import F

from accounts_app import cache as account_cache
from accounts_app.models import Customer
from accounts_app.tokens import token_issue
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

PROTECTED = "/api/v1/Webhook"
CHANGE = "/api/v1/Customers/changePassword"


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """Every token PyJWT is asked to verify (the library is wrapped, never replaced)."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token, *args, **kwargs):
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_is_verified_once_per_process(api_client, customer, decodes):
    token = token_issue(customer=customer).token

    answers = [api_client.get(PROTECTED, **_bearer(token)).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert decodes == [token]


def test_a_password_change_refuses_the_cached_token_at_once(api_client, customer):
    token = token_issue(customer=customer).token
    assert api_client.get(PROTECTED, **_bearer(token)).status_code == 200  # verified and cached

    changed = api_client.post(
        CHANGE, {"currentPassword": DEFAULT_PASSWORD, "newPassword": "an-entirely-new-pass"},
        format="json", **_bearer(token),
    )
    refused = api_client.get(PROTECTED, **_bearer(token))

    assert changed.status_code == 204
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The token has been revoked."
    assert refused["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revocation_by_another_process_refuses_the_cached_token_within_the_cache_seconds(
    api_client, customer, settings
):
    settings.ACCOUNT_CACHE_SECONDS = 0.2
    token = token_issue(customer=customer).token
    assert api_client.get(PROTECTED, **_bearer(token)).status_code == 200
    # Another process changed the password: no signal reaches this one.
    Customer.objects.filter(id=customer.id).update(token_version=F("token_version") + 1)

    time.sleep(0.3)
    refused = api_client.get(PROTECTED, **_bearer(token))

    assert refused.status_code == 401
    assert refused.json()["detail"] == "The token has been revoked."


def test_an_expired_token_is_refused_although_it_was_verified(api_client, customer, settings):
    lifetime = settings.JWT_LIFETIME_SECONDS
    issued = token_issue(customer=customer, now=datetime.now(UTC) - timedelta(seconds=lifetime - 2))
    assert api_client.get(PROTECTED, **_bearer(issued.token)).status_code == 200  # cached until exp

    time.sleep(max(0.0, issued.expires_at.timestamp() - time.time()) + 0.05)
    refused = api_client.get(PROTECTED, **_bearer(issued.token))

    assert refused.status_code == 401
    assert refused.json()["detail"] == "The token has expired."


def test_a_deactivated_customer_is_refused_although_the_token_was_verified(api_client, customer):
    token = token_issue(customer=customer).token
    assert api_client.get(PROTECTED, **_bearer(token)).status_code == 200

    customer.is_active = False
    customer.save(update_fields=["is_active"])
    refused = api_client.get(PROTECTED, **_bearer(token))

    assert refused.status_code == 401
    assert refused.json()["detail"] == "The token has been revoked."


def test_a_deactivation_by_another_process_is_refused_within_the_cache_seconds(api_client, customer, settings):
    settings.ACCOUNT_CACHE_SECONDS = 0.2
    token = token_issue(customer=customer).token
    assert api_client.get(PROTECTED, **_bearer(token)).status_code == 200
    Customer.objects.filter(id=customer.id).update(is_active=False)

    time.sleep(0.3)

    assert api_client.get(PROTECTED, **_bearer(token)).status_code == 401


def test_the_cache_is_bounded_and_a_dropped_token_is_verified_again(api_client, customer, decodes, monkeypatch):
    monkeypatch.setattr(account_cache, "TOKEN_CACHE_MAX_ENTRIES", 3)
    now = datetime.now(UTC)
    tokens = [token_issue(customer=customer, now=now - timedelta(seconds=n)).token for n in range(5)]

    assert [api_client.get(PROTECTED, **_bearer(t)).status_code for t in tokens] == [200] * 5
    assert account_cache.verified_tokens_count() == 3
    assert api_client.get(PROTECTED, **_bearer(tokens[0])).status_code == 200  # evicted, verified again
    assert decodes == [*tokens, tokens[0]]


def test_a_refused_token_is_not_kept(api_client, customer):
    forged = jwt.encode({"sub": str(customer.id)}, "some-other-key-of-at-least-32-bytes!", algorithm="HS256")

    assert api_client.get(PROTECTED, **_bearer(forged)).status_code == 401
    assert account_cache.verified_tokens_count() == 0


def test_a_token_verified_under_other_jwt_settings_is_checked_again(api_client, customer, settings):
    token = token_issue(customer=customer).token
    assert api_client.get(PROTECTED, **_bearer(token)).status_code == 200

    settings.JWT_SIGNING_KEY = "a-rotated-signing-key-of-at-least-32-bytes"

    assert api_client.get(PROTECTED, **_bearer(token)).status_code == 401
