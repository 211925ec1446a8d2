"""Which of a model's fields the raw writes set."""

from __future__ import annotations

from functools import cache

from django.db.models import AutoField, BigAutoField, Field, Model


@cache
def written_fields(model: type[Model]) -> tuple[Field, ...]:
    """Every concrete field in ``_meta.concrete_fields`` order except database-generated keys,
    which the table's default (a sequence) fills, as an ORM insert leaves them out too."""
    return tuple(f for f in model._meta.concrete_fields if not isinstance(f, AutoField | BigAutoField))
