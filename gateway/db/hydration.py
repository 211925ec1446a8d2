"""Model instances from rows of hand-written SQL, without the ORM's compiler.

The hot paths (a worker's claim, a delivery report's lookup) load a row with its related rows
for every chunk or report. Compiling ``select_related`` for each cost a third of a dispatch
worker's CPU; their statements are written out once (in the app's ``queries.py``) with a select
list from ``select_list``, and each row is turned into the instances the ORM would build, every
value converted as the ORM converts it (``Field.get_db_converters``: decryption, JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

ModelT = TypeVar("ModelT", bound=Model)


@cache
def select_list(*sources: tuple[type[Model], str]) -> str:
    """The select list of every concrete column of each ``(model, alias)`` in turn, in
    ``_meta.concrete_fields`` order: the layout ``models_from_row`` reads back."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for model, alias in sources for f in model._meta.concrete_fields)


def model_from_values(model: type[ModelT], values: Sequence[Any], attnames: Sequence[str] | None = None) -> ModelT:
    """An instance of ``model`` as loaded from the database (``_state.adding`` False, ``_state.db``
    set) from the values of its concrete fields in ``_meta.concrete_fields`` order, or of the
    fields ``attnames`` names (the others are then deferred, loaded on first access)."""
    if attnames is None:
        fields = list(model._meta.concrete_fields)
    else:
        by_attname = {field.attname: field for field in model._meta.concrete_fields}
        fields = [by_attname[name] for name in attnames]
    converted = []
    for field, value in zip(fields, values, strict=True):
        for convert in field.get_db_converters(connection):  # type: ignore[attr-defined]  # missing from django-stubs
            value = convert(value, None, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def models_from_row(row: Sequence[Any], *models: type[Model]) -> list[Model]:
    """One instance per model from a row selected with ``select_list`` over the same models."""
    instances = []
    start = 0
    for model in models:
        end = start + len(model._meta.concrete_fields)
        instances.append(model_from_values(model, row[start:end]))
        start = end
    if start != len(row):
        raise ValueError(f"the row has {len(row)} columns, the models {start}")
    return instances
