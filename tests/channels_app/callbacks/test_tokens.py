"""Signed callback tokens: what a Mitto callback URL must carry to be believed."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured

from channels_app.callbacks.tokens import (
    callback_url_with_token,
    issue_callback_token,
    verify_callback_token,
)
from channels_app.providers.base import CallbackRejected

DLR_KEY = "dlr-test-key-" + "0123456789abcdef" * 4  # 64+ bytes: long enough for HS512 too
DLR_OLD_KEY = "dlr-old-test-key-0123456789abcdef012345"
INBOUND_KEY = "inbound-test-key-0123456789abcdef01234"
SUBJECT = "0b7f3a52-9c1e-4d6b-8a2f-3e5d7c9b1a40"


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.MITTO_DLR_SIGNING_KEYS = [DLR_KEY]
    settings.MITTO_INBOUND_SIGNING_KEYS = [INBOUND_KEY]
    settings.CALLBACK_TOKEN_LIFETIME_SECONDS = 600


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize("purpose", ["dlr", "inbound"])
def test_issued_token_verifies_and_returns_its_subject(purpose):
    token = issue_callback_token(subject=SUBJECT, purpose=purpose)

    assert verify_callback_token(token, purpose=purpose) == SUBJECT


def test_token_carries_subject_purpose_and_configured_lifetime():
    before = int(time.time())

    claims = _claims(issue_callback_token(subject=SUBJECT, purpose="dlr"))

    assert claims["sub"] == SUBJECT
    assert claims["pur"] == "dlr"
    assert before <= claims["iat"] == claims["nbf"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 600
    assert jwt.get_unverified_header(issue_callback_token(subject=SUBJECT, purpose="dlr"))["alg"] == "HS256"


def test_explicit_lifetime_overrides_the_setting():
    claims = _claims(issue_callback_token(subject=SUBJECT, purpose="inbound", lifetime=90 * 24 * 3600))

    assert claims["exp"] - claims["iat"] == 90 * 24 * 3600


@pytest.mark.parametrize(("purpose", "key"), [("dlr", DLR_KEY), ("inbound", INBOUND_KEY)])
def test_each_purpose_signs_with_its_own_first_key(settings, purpose, key):
    settings.MITTO_DLR_SIGNING_KEYS = [DLR_KEY, DLR_OLD_KEY]

    token = issue_callback_token(subject=SUBJECT, purpose=purpose)

    assert jwt.decode(token, key, algorithms=["HS256"])["sub"] == SUBJECT


def test_expired_token_is_rejected():
    token = issue_callback_token(subject=SUBJECT, purpose="dlr", lifetime=-5)

    with pytest.raises(CallbackRejected, match="expired") as excinfo:
        verify_callback_token(token, purpose="dlr")
    assert excinfo.value.status_code == 401


def test_token_before_its_nbf_is_rejected():
    now = int(time.time())
    token = jwt.encode(
        {"sub": SUBJECT, "pur": "dlr", "iat": now, "nbf": now + 120, "exp": now + 600},
        DLR_KEY,
        algorithm="HS256",
    )

    with pytest.raises(CallbackRejected, match="not yet valid"):
        verify_callback_token(token, purpose="dlr")


def test_token_of_another_purpose_is_rejected_even_with_a_shared_key(settings):
    settings.MITTO_INBOUND_SIGNING_KEYS = [DLR_KEY]
    token = issue_callback_token(subject=SUBJECT, purpose="dlr")

    with pytest.raises(CallbackRejected, match="another purpose"):
        verify_callback_token(token, purpose="inbound")


def test_dlr_token_does_not_verify_with_inbound_keys():
    token = issue_callback_token(subject=SUBJECT, purpose="dlr")

    with pytest.raises(CallbackRejected, match="signature"):
        verify_callback_token(token, purpose="inbound")


def test_rotation_old_key_verifies_while_listed_and_not_after_removal(settings):
    settings.MITTO_DLR_SIGNING_KEYS = [DLR_OLD_KEY]
    old_token = issue_callback_token(subject=SUBJECT, purpose="dlr")

    # a new key is added in front: it signs from now on, the old one still verifies
    settings.MITTO_DLR_SIGNING_KEYS = [DLR_KEY, DLR_OLD_KEY]
    assert verify_callback_token(old_token, purpose="dlr") == SUBJECT
    new_token = issue_callback_token(subject=SUBJECT, purpose="dlr")
    assert jwt.decode(new_token, DLR_KEY, algorithms=["HS256"])["sub"] == SUBJECT

    # the old key is removed: its tokens stop verifying, the new ones keep working
    settings.MITTO_DLR_SIGNING_KEYS = [DLR_KEY]
    with pytest.raises(CallbackRejected):
        verify_callback_token(old_token, purpose="dlr")
    assert verify_callback_token(new_token, purpose="dlr") == SUBJECT


def _forged(header_alg: str, key: str = DLR_KEY) -> str:
    now = int(time.time())
    claims = {"sub": SUBJECT, "pur": "dlr", "iat": now, "nbf": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm=header_alg)


def _alg_none_token() -> str:
    now = int(time.time())
    claims = {"sub": SUBJECT, "pur": "dlr", "iat": now, "nbf": now, "exp": now + 600}
    return jwt.encode(claims, None, algorithm="none")


def _tampered_token() -> str:
    token = issue_callback_token(subject=SUBJECT, purpose="dlr")
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


def _token_without_purpose() -> str:
    now = int(time.time())
    return jwt.encode({"sub": SUBJECT, "iat": now, "nbf": now, "exp": now + 600}, DLR_KEY, algorithm="HS256")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: "", id="empty"),
        pytest.param(lambda: "not-a-jwt", id="malformed"),
        pytest.param(_tampered_token, id="tampered-signature"),
        pytest.param(lambda: _forged("HS256", key="attacker-key-0123456789abcdef0123456"), id="unknown-key"),
        pytest.param(lambda: _forged("HS512"), id="algorithm-not-allowed"),
        pytest.param(_alg_none_token, id="alg-none"),
        pytest.param(_token_without_purpose, id="missing-purpose-claim"),
    ],
)
def test_invalid_tokens_are_rejected_with_401(make_token):
    with pytest.raises(CallbackRejected) as excinfo:
        verify_callback_token(make_token(), purpose="dlr")

    assert excinfo.value.status_code == 401


def test_issuing_without_keys_is_a_configuration_error(settings):
    settings.MITTO_DLR_SIGNING_KEYS = []

    with pytest.raises(ImproperlyConfigured):
        issue_callback_token(subject=SUBJECT, purpose="dlr")


def test_verifying_without_keys_rejects(settings):
    token = issue_callback_token(subject=SUBJECT, purpose="dlr")
    settings.MITTO_DLR_SIGNING_KEYS = []

    with pytest.raises(CallbackRejected):
        verify_callback_token(token, purpose="dlr")


@pytest.mark.parametrize(
    ("base_url", "expected_other_params"),
    [
        ("https://gw.example.com/callbacks/sms/dlr", {}),
        ("https://gw.example.com/callbacks/sms/dlr?ta=42&x=1", {"ta": ["42"], "x": ["1"]}),
        ("https://gw.example.com/callbacks/sms/dlr?token=stale&ta=42", {"ta": ["42"]}),
    ],
)
def test_callback_url_with_token_sets_the_token_parameter(base_url, expected_other_params):
    token = issue_callback_token(subject=SUBJECT, purpose="dlr")

    url = callback_url_with_token(base_url, token)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://gw.example.com/callbacks/sms/dlr"
    assert query.pop("token") == [token]
    assert query == expected_other_params
    assert verify_callback_token(parse_qs(urlsplit(url).query)["token"][0], purpose="dlr") == SUBJECT
