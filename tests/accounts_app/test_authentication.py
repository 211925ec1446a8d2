"""Login, token lifetime, revocation, forged tokens and per-account throttling."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings

from accounts_app.tokens import token_issue
from tests.factories import DEFAULT_PASSWORD, CustomerFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/Customers/login"
CHANGE = "/api/v1/Customers/changePassword"
PROTECTED = "/api/v1/Customers/changePassword"


def _login(api_client, email, password):
    return api_client.post(LOGIN, {"email": email, "password": password}, format="json")


def test_login_returns_a_one_hour_token(api_client, customer):
    response = _login(api_client, customer.email, DEFAULT_PASSWORD)

    assert response.status_code == 200
    body = response.json()
    claims = jwt.decode(
        body["token"], settings.JWT_SIGNING_KEY, algorithms=["HS256"],
        audience=settings.JWT_AUDIENCE, issuer=settings.JWT_ISSUER,
    )
    assert claims["sub"] == str(customer.id)
    assert claims["exp"] - claims["iat"] == 3600
    assert datetime.fromisoformat(body["expiresAt"]) == datetime.fromtimestamp(claims["exp"], UTC)


def test_login_email_is_case_insensitive(api_client, customer):
    assert _login(api_client, customer.email.upper(), DEFAULT_PASSWORD).status_code == 200


def test_wrong_email_and_wrong_password_get_the_same_answer(api_client, customer):
    wrong_password = _login(api_client, customer.email, "not-the-password")
    wrong_email = _login(api_client, "nobody@example.com", DEFAULT_PASSWORD)

    assert wrong_password.status_code == wrong_email.status_code == 401
    assert wrong_password.json() == wrong_email.json()
    assert wrong_password["Content-Type"] == "application/problem+json"


def test_the_token_opens_protected_endpoints(api_client, customer):
    token = _login(api_client, customer.email, DEFAULT_PASSWORD).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api_client.post(PROTECTED, {}, format="json")

    assert response.status_code == 400  # authenticated, then the empty body is refused


def test_missing_token_is_401_problem(api_client):
    response = api_client.post(PROTECTED, {}, format="json")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_expired_token_is_rejected(api_client, customer):
    issued = token_issue(customer=customer, now=datetime.now(UTC) - timedelta(hours=1, seconds=5))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}")

    response = api_client.post(PROTECTED, {}, format="json")

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(customer) -> dict:
    now = int(datetime.now(UTC).timestamp())
    return {"sub": str(customer.id), "iss": settings.JWT_ISSUER, "aud": settings.JWT_AUDIENCE,
            "iat": now, "exp": now + 600, "ver": customer.token_version}


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda c: jwt.encode(_claims(c), "some-other-key", algorithm="HS256"), id="wrong-key"),
        pytest.param(lambda c: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(c))}.", id="alg-none"),
        pytest.param(
            lambda c: jwt.encode({**_claims(c), "aud": "someone-else"}, settings.JWT_SIGNING_KEY, algorithm="HS256"),
            id="wrong-audience",
        ),
        pytest.param(
            lambda c: jwt.encode({**_claims(c), "iss": "evil"}, settings.JWT_SIGNING_KEY, algorithm="HS256"),
            id="wrong-issuer",
        ),
        pytest.param(
            lambda c: jwt.encode(_claims(c), settings.JWT_SIGNING_KEY, algorithm="HS512"), id="other-algorithm"
        ),
        pytest.param(lambda c: "not-a-jwt", id="garbage"),
    ],
)
def test_forged_tokens_are_rejected(api_client, customer, make_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(customer)}")

    response = api_client.post(PROTECTED, {}, format="json")

    assert response.status_code == 401


def test_tampered_payload_is_rejected(api_client, customer):
    other = CustomerFactory()
    header, _, signature = token_issue(customer=customer).token.split(".")
    forged = f"{header}.{_b64(_claims(other))}.{signature}"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert api_client.post(PROTECTED, {}, format="json").status_code == 401


def test_password_change_revokes_older_tokens(api_client, customer):
    old_token = _login(api_client, customer.email, DEFAULT_PASSWORD).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {old_token}")

    changed = api_client.post(
        CHANGE, {"currentPassword": DEFAULT_PASSWORD, "newPassword": "a-brand-new-passphrase"}, format="json"
    )
    assert changed.status_code == 204

    assert api_client.post(PROTECTED, {}, format="json").status_code == 401
    api_client.credentials()
    assert _login(api_client, customer.email, DEFAULT_PASSWORD).status_code == 401
    new_token = _login(api_client, customer.email, "a-brand-new-passphrase").json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_token}")
    assert api_client.post(PROTECTED, {}, format="json").status_code == 400


def test_password_change_needs_the_current_password(auth_client):
    response = auth_client.post(
        CHANGE, {"currentPassword": "wrong", "newPassword": "a-brand-new-passphrase"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [{"path": "currentPassword", "message": "The current password is incorrect."}]


def test_password_change_applies_password_rules(auth_client):
    response = auth_client.post(CHANGE, {"currentPassword": DEFAULT_PASSWORD, "newPassword": "short"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "newPassword"


def test_repeated_failures_throttle_the_account_not_the_address(api_client, customer, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert _login(api_client, customer.email, "wrong").status_code == 401

    locked = _login(api_client, customer.email, DEFAULT_PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert locked.json()["type"].endswith("too-many-requests")

    from_elsewhere = api_client.post(
        LOGIN, {"email": customer.email, "password": DEFAULT_PASSWORD}, format="json", REMOTE_ADDR="10.9.8.7"
    )
    assert from_elsewhere.status_code == 429

    other = CustomerFactory()
    assert _login(api_client, other.email, DEFAULT_PASSWORD).status_code == 200


def test_a_successful_login_resets_the_failure_count(api_client, customer, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        _login(api_client, customer.email, "wrong")
    assert _login(api_client, customer.email, DEFAULT_PASSWORD).status_code == 200
    for _ in range(2):
        _login(api_client, customer.email, "wrong")
    assert _login(api_client, customer.email, DEFAULT_PASSWORD).status_code == 200


def test_an_admin_password_reset_revokes_the_customers_tokens(client, auth_client):
    from accounts_app.models import Customer

    client.force_login(Customer.objects.create_superuser("ops@example.com", "operator-passphrase"))
    assert auth_client.get("/api/v1/Webhook").status_code == 200

    reset = client.post(
        f"/admin/accounts_app/customer/{auth_client.customer.id}/password/",
        {"password1": "a-reset-passphrase-42", "password2": "a-reset-passphrase-42"},
    )

    assert reset.status_code == 302
    assert auth_client.get("/api/v1/Webhook").status_code == 401


def test_a_command_line_password_reset_revokes_the_customers_tokens(auth_client, monkeypatch):
    from django.contrib.auth.management.commands import changepassword
    from django.core.management import call_command

    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": "a-reset-passphrase-42")
    call_command("changepassword", auth_client.customer.email, stdout=__import__("io").StringIO())

    assert auth_client.get("/api/v1/Webhook").status_code == 401
