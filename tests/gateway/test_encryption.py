"""Secrets at rest: provider credentials and webhook signing secrets are ciphertext in PostgreSQL,
decrypt with any configured key, and re-encrypt with the newest one."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts_app.models import TrafficAccount
from gateway.encryption import DecryptionFailed, column_encrypt_plaintext
from tests.factories import CustomerFactory, TrafficAccountFactory
from webhooks_app.models import Webhook

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _raw(table: str, column: str, pk: object) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}"::text FROM "{table}" WHERE id = %s', [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_credentials_are_ciphertext_in_the_column_and_plaintext_in_the_model():
    account = TrafficAccountFactory(channel="telegram", credentials={"bot_token": "123456:very-secret-bot-token"})

    raw = _raw("accounts_app_trafficaccount", "credentials", account.id)
    assert "very-secret-bot-token" not in raw and "bot_token" not in raw
    assert TrafficAccount.objects.get(id=account.id).credentials == {"bot_token": "123456:very-secret-bot-token"}


def test_webhook_secrets_are_ciphertext_in_the_column():
    webhook = Webhook.objects.create(customer=CustomerFactory(), name="h", url="https://93.184.215.14/h",
                                     triggers=["Read"], previous_secret="whsec_b2xkLXNlY3JldA==")

    assert webhook.secret.startswith("whsec_")
    for column, plain in (("secret", webhook.secret), ("previous_secret", "whsec_b2xkLXNlY3JldA==")):
        raw = _raw("webhooks_app_webhook", column, webhook.id)
        assert plain not in raw and "whsec_" not in raw
    reloaded = Webhook.objects.get(id=webhook.id)
    assert (reloaded.secret, reloaded.previous_secret) == (webhook.secret, "whsec_b2xkLXNlY3JldA==")


def test_rotation_keeps_old_rows_readable_then_moves_them_to_the_new_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    account = TrafficAccountFactory(channel="sms", credentials={"api_key": "mitto-secret"})
    webhook = Webhook.objects.create(customer=account.customer, name="h", url="https://93.184.215.14/h",
                                     triggers=["Read"])
    secret = webhook.secret

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # the new key first: it encrypts, both decrypt
    assert TrafficAccount.objects.get(id=account.id).credentials == {"api_key": "mitto-secret"}
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "accounts_app_trafficaccount.credentials:" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key is gone: everything still reads
    assert TrafficAccount.objects.get(id=account.id).credentials == {"api_key": "mitto-secret"}
    assert Webhook.objects.get(id=webhook.id).secret == secret

    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]  # and nothing is left under the old key
    with pytest.raises(DecryptionFailed):
        TrafficAccount.objects.get(id=account.id)


def test_rotation_in_batches_of_one_reaches_every_row(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    accounts = [TrafficAccountFactory(channel="sms", credentials={"api_key": f"key-{i}"}) for i in range(3)]

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()
    call_command("reencrypt_secrets", "--batch-size", "1", stdout=out)

    assert "accounts_app_trafficaccount.credentials: " in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert [TrafficAccount.objects.get(id=a.id).credentials for a in accounts] == [
        {"api_key": f"key-{i}"} for i in range(3)
    ]


def test_the_migration_step_encrypts_rows_left_in_plaintext():
    account = TrafficAccountFactory(channel="sms", credentials={"api_key": "x"})
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_app_trafficaccount SET credentials = %s WHERE id = %s",
            [json.dumps({"api_key": "legacy-plaintext-key"}), account.id],
        )
        assert column_encrypt_plaintext(cursor, "accounts_app_trafficaccount", "id", "credentials") >= 1
        assert column_encrypt_plaintext(cursor, "accounts_app_trafficaccount", "id", "credentials") == 0

    assert "legacy-plaintext-key" not in _raw("accounts_app_trafficaccount", "credentials", account.id)
    assert TrafficAccount.objects.get(id=account.id).credentials == {"api_key": "legacy-plaintext-key"}
