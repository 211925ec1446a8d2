from __future__ import annotations

import pytest

from bench.census import _kind


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ('SELECT "a"."id" FROM "accounts_app_customer" WHERE id = 1', "SELECT accounts_app_customer"),
        ('INSERT INTO "channels_app_message" ("id") SELECT * FROM UNNEST((%s)::uuid[])', "INSERT channels_app_message"),
        ('UPDATE "channels_app_message" SET status = 1', "UPDATE channels_app_message"),
        ("SAVEPOINT s1", "SAVEPOINT"),
    ],
)
def test_statements_are_grouped_by_verb_and_table(sql: str, kind: str) -> None:
    assert _kind(sql) == kind
