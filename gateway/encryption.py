"""Encryption of secrets at rest (provider credentials, webhook signing secrets).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with keys from ``FIELD_ENCRYPTION_KEYS``:
the first key encrypts, every key decrypts (``MultiFernet``), so a key is rotated by putting the
new one first, running ``manage.py reencrypt_secrets``, then dropping the old one. A database dump
or a read-only SQL injection then yields ciphertext, not API keys and bot tokens.

The model fields (``EncryptedTextField``, ``EncryptedJSONField``) store the token as text and
decrypt on load, including rows built from raw SQL through the fields' converters.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

from gateway.db.columns import column_value_set, column_values


class DecryptionFailed(Exception):
    """A stored value did not decrypt with any configured key (a key was dropped too early)."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed(
            "A stored secret does not decrypt with any key in FIELD_ENCRYPTION_KEYS."
        ) from None


def is_encrypted(value: str) -> bool:
    """Whether ``value`` is a token one of the configured keys made."""
    try:
        fernet().decrypt(value.encode())
    except InvalidToken:
        return False
    return True


def rotate_token(token: str) -> str:
    """The same plaintext, encrypted with the newest key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed("A stored secret does not decrypt with any key in FIELD_ENCRYPTION_KEYS.") from None


class EncryptedTextField(models.TextField):
    """Text stored encrypted; reads and writes plaintext."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt_text(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt_text(str(value))


class EncryptedJSONField(models.TextField):
    """A JSON value stored encrypted; reads and writes Python objects."""

    # What django-stubs' plugin types the model attribute as: any JSON value, not TextField's str.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else encrypt_text(json.dumps(value, separators=(",", ":")))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary-key column, column) of every encrypted field of every installed model."""
    from django.apps import apps

    columns = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField | EncryptedJSONField):
                columns.append((model._meta.db_table, model._meta.pk.column, field.column))
    return sorted(columns)


def column_encrypt_plaintext(cursor: Any, table: str, pk: str, column: str) -> int:
    """Encrypt the rows of ``table.column`` that still hold plaintext; the count changed.
    Used by the migrations that turn a plaintext column into an encrypted one."""
    changed = 0
    for key, value in column_values(cursor, table, pk, column):
        if not is_encrypted(value):
            column_value_set(cursor, table, pk, column, key, encrypt_text(value))
            changed += 1
    return changed


def column_decrypt(cursor: Any, table: str, pk: str, column: str) -> None:
    """Back to plaintext (the migrations' reverse)."""
    for key, value in column_values(cursor, table, pk, column):
        if is_encrypted(value):
            column_value_set(cursor, table, pk, column, key, decrypt_text(value))
