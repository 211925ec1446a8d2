"""Password-guessing limits: counted before Argon2 runs, per address and per account, with a
growing delay instead of a lock-out, on the API login, changePassword and the admin login; and
request body limits."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, CustomerFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/Customers/login"
CHANGE = "/api/v1/Customers/changePassword"


def _login(client, email, password, address="127.0.0.1"):
    return client.post(LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=address)


def _assert_throttled(response) -> int:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("too-many-requests") and body["status"] == 429
    assert int(response["Retry-After"]) == body["retryAfter"] > 0
    return body["retryAfter"]


def test_parallel_bad_logins_never_check_more_passwords_than_the_limit(customer, settings):
    settings.LOGIN_MAX_FAILURES = 5
    statuses: list[int] = []
    start = threading.Barrier(10)

    def attempt() -> None:
        try:
            start.wait()
            statuses.append(_login(APIClient(), customer.email, "wrong-password").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 401 means the password was checked; 429 means it was refused before Argon2 ran.
    assert sorted(statuses) == [401] * 5 + [429] * 5


def test_one_address_is_limited_across_accounts_even_unknown_ones(api_client, customer, settings):
    settings.LOGIN_IP_MAX_ATTEMPTS = 3
    for n in range(3):
        assert _login(api_client, f"nobody-{n}@example.com", "guess", address="198.51.100.7").status_code == 401

    _assert_throttled(_login(api_client, "nobody-else@example.com", "guess", address="198.51.100.7"))
    _assert_throttled(_login(api_client, customer.email, DEFAULT_PASSWORD, address="198.51.100.7"))
    assert _login(api_client, customer.email, DEFAULT_PASSWORD, address="198.51.100.8").status_code == 200


def test_an_ipv6_client_is_counted_per_64_block(api_client, settings):
    settings.LOGIN_IP_MAX_ATTEMPTS = 2
    assert _login(api_client, "a@example.com", "x", address="2001:db8:1:2::1").status_code == 401
    assert _login(api_client, "b@example.com", "x", address="2001:db8:1:2::ffff").status_code == 401

    _assert_throttled(_login(api_client, "c@example.com", "x", address="2001:db8:1:2:abcd::9"))
    assert _login(api_client, "d@example.com", "x", address="2001:db8:1:3::1").status_code == 401


def test_an_account_backs_off_with_a_growing_delay_and_the_owner_gets_back_in(api_client, customer, settings):
    settings.LOGIN_MAX_FAILURES = 2
    # Longer than a password check takes on a loaded machine: the delay runs from the moment the
    # failure is counted, which is before Argon2, so a shorter one could pass before it answers.
    settings.LOGIN_BACKOFF_BASE_SECONDS = 3
    assert _login(api_client, customer.email, "wrong", address="198.51.100.1").status_code == 401
    assert _login(api_client, customer.email, "wrong", address="198.51.100.2").status_code == 401

    first_wait = _assert_throttled(_login(api_client, customer.email, DEFAULT_PASSWORD, address="198.51.100.3"))
    time.sleep(first_wait + 0.05)
    assert _login(api_client, customer.email, "wrong", address="198.51.100.4").status_code == 401
    second_wait = _assert_throttled(_login(api_client, customer.email, DEFAULT_PASSWORD))
    assert second_wait > first_wait

    time.sleep(second_wait + 0.05)
    assert _login(api_client, customer.email, DEFAULT_PASSWORD).status_code == 200
    assert _login(api_client, customer.email, "wrong").status_code == 401  # the success cleared the account


def test_change_password_counts_against_the_account(auth_client, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        response = auth_client.post(CHANGE, {"currentPassword": "guess", "newPassword": "a-new-passphrase-1"},
                                    format="json")
        assert response.status_code == 400

    _assert_throttled(
        auth_client.post(CHANGE, {"currentPassword": DEFAULT_PASSWORD, "newPassword": "a-new-passphrase-1"},
                         format="json")
    )
    auth_client.customer.refresh_from_db()
    assert auth_client.customer.check_password(DEFAULT_PASSWORD)


def test_the_admin_login_is_limited(client, settings):
    operator = CustomerFactory(is_staff=True, is_superuser=True)
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        page = client.post("/admin/login/", {"username": operator.email, "password": "guess"})
        assert page.status_code == 200 and b"correct email" in page.content.lower()

    _assert_throttled(client.post("/admin/login/", {"username": operator.email, "password": DEFAULT_PASSWORD}))


def test_the_admin_login_still_logs_in(client):
    operator = CustomerFactory(is_staff=True, is_superuser=True)

    response = client.post("/admin/login/?next=/admin/", {"username": operator.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_login_body_over_the_small_limit_is_413(api_client):
    response = api_client.post(
        LOGIN, {"email": "a@example.com", "password": "x", "padding": "x" * 70_000}, format="json"
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["maxBytes"] == 65536


def test_sendbulk_takes_bodies_above_the_small_limit(auth_client, settings):
    body = {"trafficAccountId": "00000000-0000-4000-8000-000000000009", "destinations": ["+41751231234"] * 6000,
            "sms": {"text": "hi"}}
    response = auth_client.post("/api/v1.1/Messages/sendbulk", body, format="json")

    assert response.status_code != 413  # refused for the unknown account, not for its size
    settings.SENDBULK_MAX_REQUEST_BYTES = 50_000
    assert auth_client.post("/api/v1.1/Messages/sendbulk", body, format="json").status_code == 413
