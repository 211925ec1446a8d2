"""Shared fixtures. Tests run against the real PostgreSQL and Redis that `make test` starts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts_app import cache as account_cache
from accounts_app.models import Customer
from accounts_app.tokens import token_issue
from gateway.redis import get_redis
from tests.factories import CustomerFactory, TrafficAccountFactory


@pytest.fixture(autouse=True)
def _fresh_account_cache():
    """Each test starts without cached accounts: its database rows are rolled back after it."""
    account_cache.clear()
    yield
    account_cache.clear()


# Provider hosts the tests fake with `responses` or serve from a local sandbox on a free port.
TEST_PROVIDER_BASE_URLS = ["https://provider.test", "https://mitto.test", "https://gbm.test", "https://graph.test", "http://127.0.0.1"]


@pytest.fixture(autouse=True)
def _test_provider_hosts(settings):
    settings.PROVIDER_ALLOWED_BASE_URLS = [*settings.PROVIDER_ALLOWED_BASE_URLS, *TEST_PROVIDER_BASE_URLS]


PER_TEST_REDIS_KEYS = ("gw:login:*", "gw:api-rate:*", "gw:attempt-bodies:*")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with no login attempts or API rate spent (every test client comes from
    127.0.0.1, so counters would otherwise carry over) and no retention watermark."""
    client = get_redis()
    for pattern in PER_TEST_REDIS_KEYS:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def customer(db) -> Customer:
    return CustomerFactory()


@pytest.fixture
def auth_client(customer: Customer) -> APIClient:
    """An API client logged in as ``customer`` with a real JWT."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(customer=customer).token}")
    client.customer = customer  # type: ignore[attr-defined]
    return client


@pytest.fixture
def operator_client(client):
    """A Django test client logged into the admin as a superuser."""
    client.force_login(Customer.objects.create_superuser("ops@example.com", "operator-passphrase"))
    return client


@pytest.fixture
def client_for() -> Callable[[Customer], APIClient]:
    def make(customer: Customer) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(customer=customer).token}")
        return client

    return make


@pytest.fixture
def traffic_account_factory(db):
    return TrafficAccountFactory
