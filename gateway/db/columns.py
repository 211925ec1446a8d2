"""One column of a table read and rewritten row by row, named by table and column.

For data changes that go through no model: a migration (its historical models lack our custom
fields) and key rotation (``reencrypt_secrets``, over every encrypted column of every app). The
names come from model metadata or a migration, are quoted here, and every value is a parameter.
"""

from __future__ import annotations

from typing import Any

from django.db import connection


def column_values(
    cursor: Any, table: str, pk: str, column: str, *, after: Any = None, limit: int | None = None, lock: bool = False
) -> list[tuple[Any, Any]]:
    """(key, value) of the rows where ``column`` is not NULL, in key order: those after ``after``
    when given, at most ``limit``, locked ``FOR UPDATE`` with ``lock``."""
    quote = connection.ops.quote_name
    sql = f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL"  # noqa: S608
    params: list[Any] = []
    if after is not None:
        sql += f" AND {quote(pk)} > %s"
        params.append(after)
    sql += f" ORDER BY {quote(pk)}"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    if lock:
        sql += " FOR UPDATE"
    cursor.execute(sql, params)
    return cursor.fetchall()


def column_value_set(cursor: Any, table: str, pk: str, column: str, key: Any, value: Any) -> None:
    """``column`` of the row ``key`` set to ``value``."""
    quote = connection.ops.quote_name
    cursor.execute(f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s", [value, key])  # noqa: S608
