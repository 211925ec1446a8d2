"""Provisioning commands operators and scripts use."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts_app.models import Customer, TrafficAccount

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_customer_then_a_traffic_account():
    customer_out = _run("create_customer", "--email", "Ops@Example.com", "--password", "a-long-passphrase")
    customer = Customer.objects.get(email="ops@example.com")
    assert customer_out.strip().splitlines()[-1] == str(customer.id)
    assert customer.check_password("a-long-passphrase")

    out = _run(
        "create_traffic_account",
        "--customer",
        "ops@example.com",
        "--channel",
        "telegram",
        "--name",
        "Bot",
        "--base-url",
        "http://127.0.0.1:8025",
        "--credential",
        "bot_token=123:abc",
        "--credential",
        "secret_token=s",
        "--throughput",
        "30",
    )

    account = TrafficAccount.objects.get(id=out.strip().splitlines()[-1])
    assert account.customer == customer
    assert account.channel == "telegram"
    assert account.credentials == {"bot_token": "123:abc", "secret_token": "s"}
    assert account.throughput_per_second == 30
    assert account.resolved_base_url == "http://127.0.0.1:8025"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customer", "nobody@example.com", "--channel", "sms", "--name", "x"], "No customer"),
        (
            ["--customer", "{email}", "--channel", "sms", "--name", "x", "--credential", "bot_token=1"],
            "Unknown credential",
        ),
        (["--customer", "{email}", "--channel", "sms", "--name", "x", "--credential", "api_key"], "KEY=VALUE"),
        (["--customer", "{email}", "--channel", "sms", "--name", "x", "--throughput", "0"], "positive"),
    ],
)
def test_create_traffic_account_refuses_bad_input(customer, args, message):
    args = [a.replace("{email}", customer.email) for a in args]
    with pytest.raises(CommandError, match=message):
        _run("create_traffic_account", *args)
    assert not TrafficAccount.objects.exists()


def test_create_customer_refuses_duplicates_and_weak_passwords(customer):
    with pytest.raises(CommandError, match="already exists"):
        _run("create_customer", "--email", customer.email, "--password", "a-long-passphrase")
    with pytest.raises(CommandError, match="Password rejected"):
        _run("create_customer", "--email", "new@example.com", "--password", "short")
    with pytest.raises(CommandError, match="Invalid email"):
        _run("create_customer", "--email", "not-an-email", "--password", "a-long-passphrase")


def test_bad_input_exits_non_zero_from_the_shell():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "create_traffic_account",
            "--customer",
            "x@example.com",
            "--channel",
            "carrier-pigeon",
            "--name",
            "n",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DEBUG": "true"},
    )
    assert result.returncode != 0
    assert "invalid choice" in result.stderr


def test_the_service_refuses_default_secrets_when_debug_is_off():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "JWT_SIGNING_KEY")}
    env["DEBUG"] = "false"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "JWT_SIGNING_KEY" in result.stderr

    env.update(
        SECRET_KEY="x" * 50,
        JWT_SIGNING_KEY="y" * 50,
        MITTO_DLR_SIGNING_KEYS="d" * 40,
        MITTO_INBOUND_SIGNING_KEYS="i" * 40,
        FIELD_ENCRYPTION_KEYS="ClzJcsEnjXHV48aK6YWKX3iS2iFqKLHEEje1IUlwCIA=",
    )
    ok = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr


def _check_with(**overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBUG": "true", **overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, check=False, env=env
    )


def test_the_service_refuses_short_signing_keys_and_bad_encryption_keys():
    short = _check_with(JWT_SIGNING_KEY="too-short-key")
    assert short.returncode != 0 and "shorter than 32 bytes: JWT_SIGNING_KEY" in short.stderr

    bad = _check_with(FIELD_ENCRYPTION_KEYS="not-a-fernet-key")
    assert bad.returncode != 0 and "FIELD_ENCRYPTION_KEYS entry 1 is not a Fernet key" in bad.stderr


def test_the_service_refuses_the_development_encryption_key_when_debug_is_off():
    env = {
        **os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 50, "JWT_SIGNING_KEY": "y" * 50,
        "MITTO_DLR_SIGNING_KEYS": "d" * 40, "MITTO_INBOUND_SIGNING_KEYS": "i" * 40,
    }
    env.pop("FIELD_ENCRYPTION_KEYS", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode != 0 and "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_check_deploy_is_clean_with_debug_off():
    env = {
        **os.environ, "DEBUG": "false", "SECRET_KEY": "k7#Qv9!pL2@wZ4$rT8^mN1&bX6*cJ3(hF5)gD0-sA" + "Yu" * 5,
        "JWT_SIGNING_KEY": "y" * 50,
        "MITTO_DLR_SIGNING_KEYS": "d" * 40, "MITTO_INBOUND_SIGNING_KEYS": "i" * 40,
        "FIELD_ENCRYPTION_KEYS": "ClzJcsEnjXHV48aK6YWKX3iS2iFqKLHEEje1IUlwCIA=",
    }
    for name in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, check=False, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
