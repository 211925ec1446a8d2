"""No index of the message tables duplicates the leading columns of another.

Every index is written on each insert and on each status change that cannot be a HOT update, so
one that another index already covers only costs: a sendbulk of 10,000 destinations writes
50,000 rows across these tables.
"""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

TABLES = [
    "channels_app_conversation",
    "channels_app_participant",
    "channels_app_message",
    "channels_app_messageevent",
    "channels_app_dispatchattempt",
]

_INDEXES_SQL = """
SELECT t.relname, i.relname, ARRAY(
    SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
    JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n
)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = ANY(%s) AND x.indpred IS NULL AND x.indexprs IS NULL
"""


def _full_indexes() -> dict[str, dict[str, list[str]]]:
    """Per table, its indexes without a predicate or expression, by name: their key columns."""
    with connection.cursor() as cursor:
        cursor.execute(_INDEXES_SQL, [TABLES])
        rows = cursor.fetchall()
    by_table: dict[str, dict[str, list[str]]] = {}
    for table, index, columns in rows:
        by_table.setdefault(table, {})[index] = list(columns)
    return by_table


def test_no_index_is_a_leading_part_of_another():
    redundant = [
        (table, shorter, longer)
        for table, indexes in _full_indexes().items()
        for shorter, short_columns in indexes.items()
        for longer, long_columns in indexes.items()
        if shorter != longer
        and len(short_columns) < len(long_columns)
        and long_columns[: len(short_columns)] == short_columns
    ]

    assert redundant == []


def test_every_foreign_key_of_the_message_tables_is_still_indexed():
    # Deleting a customer, account or conversation cascades: each reference needs an index
    # that leads with it, or the cascade scans the whole table.
    indexes = _full_indexes()
    leading = {(table, columns[0]) for table, by_name in indexes.items() for columns in by_name.values()}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, a.attname FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND t.relname = ANY(%s)
            """,
            [TABLES],
        )
        references = set(cursor.fetchall())

    assert references
    assert references - leading == set()
