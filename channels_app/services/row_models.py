"""A message and its traffic account from one row of hand-written SQL, without the ORM compiler.

The hot paths (a worker's claim, a delivery report's lookup) load a message with its account
for every chunk or report. Compiling ``select_related`` for each cost a third of a dispatch
worker's CPU; these statements are written out once and their rows turned into the same model
instances the ORM would build, each value converted as the ORM converts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

from accounts_app.models import TrafficAccount
from channels_app.models import Message

ModelT = TypeVar("ModelT", bound=Model)


@cache
def message_and_account_columns(message_alias: str, account_alias: str) -> str:
    """The select list of every concrete column of a message and then of its account."""
    quote = connection.ops.quote_name
    columns = [f"{message_alias}.{quote(f.column)}" for f in Message._meta.concrete_fields]
    columns += [f"{account_alias}.{quote(f.column)}" for f in TrafficAccount._meta.concrete_fields]
    return ", ".join(columns)


@cache
def model_columns(model: type[Model], alias: str) -> str:
    """The select list of every concrete column of ``model`` under ``alias``, in field order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def model_from_row(model: type[ModelT], row: Sequence[Any]) -> ModelT:
    """The instance of a row selected with ``model_columns``."""
    return _model_from_values(model, row)


def _model_from_values(model: type[ModelT], values: Sequence[Any]) -> ModelT:
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        for convert in field.get_db_converters(connection):
            value = convert(value, None, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def message_with_account(row: Sequence[Any]) -> Message:
    """The message of a row selected with ``message_and_account_columns``, its account attached."""
    split = len(Message._meta.concrete_fields)
    message = _model_from_values(Message, row[:split])
    message.traffic_account = _model_from_values(TrafficAccount, row[split:])
    return message
