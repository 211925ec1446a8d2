"""Many rows into PostgreSQL with COPY (the sendbulk accept path).

A 100,000-destination bulk writes half a million rows. Through ``bulk_create`` most of its CPU
went to building model instances, compiling INSERTs and quoting parameters in Python (Django
binds parameters on the client). Here a row is one line of COPY's text format, made of a few
per-row values and a tail of values that are the same for every row, rendered once from a model
instance: what lands in the table is what the ORM would have written for that instance. Nothing
here knows a model of ours; the caller names the instance, the table and the per-row columns.

Statements run on a cursor that binds parameters on the server, so a large array parameter goes
over the wire as it is instead of being quoted value by value in Python. The cursor is one of
Django's connection, hence in its current transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from typing import Any
from uuid import UUID

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Model
from psycopg.types.json import Jsonb

from gateway.db.fields import written_fields

# Rows per write to the COPY stream: the lines of one block are what is held in memory at once.
COPY_BLOCK_ROWS = 5000

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
# A UUID's variant nibble is 10xx: keep the two random low bits of the hex digit drawn.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def copy_escape(text: str) -> str:
    """A string as a field of a COPY text-format line."""
    return text.translate(_ESCAPES)


def copy_text(value: Any) -> str:
    """``value`` as a field of a COPY text-format line (a value as ``get_db_prep_save`` returns it)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return copy_escape(value.isoformat())
    if isinstance(value, Jsonb):
        text = value.dumps(value.obj) if value.dumps else json.dumps(value.obj)
        return copy_escape(text if isinstance(text, str) else text.decode())
    if isinstance(value, str | int | UUID):
        return copy_escape(str(value))
    raise TypeError(f"no COPY text form for {type(value).__name__}")


def uuid4_texts(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the OS random source.

    ``str(uuid.uuid4())`` costs a system call and an object per id, about six times as much.
    """
    digits = os.urandom(16 * count).hex()
    return [
        f"{digits[i : i + 8]}-{digits[i + 8 : i + 12]}-4{digits[i + 13 : i + 16]}-"
        f"{_VARIANT[digits[i + 16]]}{digits[i + 17 : i + 20]}-{digits[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def row_layout(instance: Model, leading: Sequence[str]) -> tuple[list[str], str]:
    """The COPY column list (the ``leading`` attnames first, given per row) and the text of every
    other column's value in ``instance``, the tail each row ends with (newline included).

    Database-generated keys are left out, so the table's default fills them. Each value is
    converted as the ORM converts it on insert (``pre_save``, then ``get_db_prep_save``).
    """
    fields = written_fields(type(instance))
    by_attname = {f.attname: f for f in fields}
    rest = [f for f in fields if f.attname not in leading]
    columns = [by_attname[name].column for name in leading] + [f.column for f in rest]
    tail = "\t".join(copy_text(f.get_db_prep_save(f.pre_save(instance, True), connection)) for f in rest)
    return columns, (f"\t{tail}\n" if rest else "\n")


@contextmanager
def server_cursor() -> Iterator[CursorWrapper]:
    """A cursor on Django's connection that binds parameters on the server, wrapped like Django's
    own cursors (errors as ``django.db`` exceptions, statements logged when queries are)."""
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    # Django wraps any DB-API cursor here; the stubs type the argument as the wrapper itself.
    wrapped = connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)  # type: ignore[arg-type]
    with wrapped:
        yield wrapped


def copy_lines(cursor: CursorWrapper, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    """COPY ``lines`` (text format, newline-terminated) into ``table``, a block at a time."""
    quote = connection.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    rows = iter(lines)
    with cursor.copy(statement) as copy:
        while block := "".join(islice(rows, COPY_BLOCK_ROWS)):
            copy.write(block)
