"""Insert model instances of several tables in one statement, without the ORM's compiler.

``bulk_create`` compiles a fresh INSERT for every call; on the single-send path that was a fifth
of the request's CPU, for two statements whose shape never changes. Here the column list is
built once per model and each value is converted exactly as Django converts it
(``Field.get_db_prep_save``), so what lands in the table is what ``bulk_create`` would write.
Several tables go into one statement as data-modifying CTEs: one round trip, and foreign keys
between them hold because Django creates PostgreSQL foreign keys ``DEFERRABLE INITIALLY DEFERRED``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

from gateway.db.fields import written_fields


@cache
def _columns(model: type[Model]) -> tuple[str, tuple[Field, ...]]:
    """The INSERT head and the fields written: every concrete field except database-generated keys."""
    fields = written_fields(model)
    quote = connection.ops.quote_name
    # Table and column names come from the model, quoted; values are always parameters.
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "  # noqa: S608
    return head, fields


def _insert(objects: Sequence[Model], params: list[Any]) -> str:
    head, fields = _columns(type(objects[0]))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for instance in objects:
        params.extend(f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields)
    return head + ", ".join([row] * len(objects))


def insert_together(*groups: Sequence[Model]) -> None:
    """Insert each non-empty group (instances of one model) in a single statement; the instances
    are then marked as stored (``_state``), as ``bulk_create`` marks its own."""
    groups = tuple(g for g in groups if g)
    if not groups:
        return
    params: list[Any] = []
    statements = [_insert(group, params) for group in groups]
    *leading, last = statements
    ctes = ", ".join(f"i{index} AS ({statement})" for index, statement in enumerate(leading))
    sql = f"WITH {ctes} {last}" if ctes else last
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for group in groups:
        for instance in group:
            instance._state.adding = False
            instance._state.db = connection.alias
