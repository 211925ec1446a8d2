"""The Django and psycopg internals ``gateway.db`` relies on, pinned on our models and the real
database: when an upgrade changes one of them, this file fails, not a bulk accept in production.

Each test names the helper that depends on the behaviour it asserts (docs/decisions/raw-sql.md).
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import BigAutoField
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg.types.json import Jsonb

from accounts_app.models import TrafficAccount
from channels_app.models import Conversation, DispatchAttempt, Message, MessageEvent, Participant
from gateway.db import (
    copy_lines,
    copy_text,
    insert_together,
    model_from_values,
    models_from_row,
    row_layout,
    select_list,
    server_cursor,
    uuid4_texts,
)
from gateway.db.fields import written_fields
from tests.factories import ConversationFactory, MessageFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

RAW_MODELS = [Message, MessageEvent, DispatchAttempt, Conversation, Participant, TrafficAccount]


def _table_columns(model: type) -> list[str]:
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, model._meta.db_table)]


# --- _meta.concrete_fields: select_list, models_from_row, written_fields, row_layout ----------


@pytest.mark.parametrize("model", RAW_MODELS, ids=lambda m: m.__name__)
def test_concrete_fields_are_the_tables_columns_each_once(model):
    """select_list selects ``concrete_fields`` and models_from_row splits a row by their count: they
    must be every column of the table, each once, and each field's ``attname`` its instance key."""
    fields = model._meta.concrete_fields
    assert sorted(f.column for f in fields) == sorted(_table_columns(model))
    assert len({f.attname for f in fields}) == len(fields)
    assert all(f.concrete and f.column for f in fields)


def test_written_fields_leave_out_only_database_generated_keys():
    assert [f.attname for f in written_fields(MessageEvent)] == [
        f.attname for f in MessageEvent._meta.concrete_fields if f.attname != "id"
    ]
    assert isinstance(MessageEvent._meta.pk, BigAutoField)
    # A UUID key is ours to give: it is written.
    assert written_fields(Message)[0].attname == "id"


# --- Model.from_db, Field.get_db_converters: model_from_values, models_from_row ---------------


def test_a_hydrated_row_equals_what_the_orm_loads():
    """models_from_row builds instances with ``Model.from_db`` from values converted by
    ``Field.get_db_converters`` (decryption of credentials, JSON). The result must be what the ORM
    itself loads, field by field, and be marked as loaded from this database."""
    message = MessageFactory(content={"text": "Tab\tand ünïcödé"}, metadata={"k": [1, None]})
    sql = (
        f"SELECT {select_list((Message, 'm'), (TrafficAccount, 'a'))} FROM {Message._meta.db_table} m"  # noqa: S608
        f" JOIN {TrafficAccount._meta.db_table} a ON a.id = m.traffic_account_id WHERE m.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [message.id])
        row = cursor.fetchone()

    hydrated, account = models_from_row(row, Message, TrafficAccount)

    for model, built in ((Message, hydrated), (TrafficAccount, account)):
        loaded = model.objects.get(pk=built.pk)
        for field in model._meta.concrete_fields:
            assert getattr(built, field.attname) == getattr(loaded, field.attname), field.attname
        assert built._state.adding is False
        assert built._state.db == connection.alias
        assert built.get_deferred_fields() == set()
    assert account.credentials == {"api_key": account.credentials["api_key"]} and account.credentials["api_key"]


def test_the_encrypted_field_converts_through_get_db_converters():
    field = TrafficAccount._meta.get_field("credentials")
    converters = field.get_db_converters(connection)
    assert field.from_db_value in converters
    token = field.get_db_prep_save({"api_key": "k"}, connection)
    assert isinstance(token, str) and "api_key" not in token  # ciphertext at rest
    value = token
    for convert in converters:  # the call model_from_values makes: (value, expression, connection)
        value = convert(value, None, connection)
    assert value == {"api_key": "k"}


def test_from_db_with_some_fields_defers_the_others():
    """conversation_create_or_find hydrates a conversation from the columns its statement returns."""
    conversation = ConversationFactory()
    names = ["id", "traffic_account_id", "user_identifier"]
    built = model_from_values(
        Conversation, [conversation.id, conversation.traffic_account_id, conversation.user_identifier], names
    )
    assert built._state.adding is False
    assert built.get_deferred_fields() == {f.attname for f in Conversation._meta.concrete_fields} - set(names)
    assert built.created_at == conversation.created_at  # a deferred field loads on access


# --- Field.pre_save / get_db_prep_save: row_layout, copy_text, insert_together ----------------


# The models sendbulk writes with COPY (channels_app.queries), and Conversation for auto_now_add.
@pytest.mark.parametrize("model", [Message, MessageEvent, Participant, Conversation], ids=lambda m: m.__name__)
def test_every_prepared_value_has_a_copy_text_form(model):
    """row_layout renders ``get_db_prep_save(pre_save(instance, True))`` of each written field with
    copy_text, which knows None, bool, str, int, UUID, datetime and Jsonb: nothing else may come
    (a float field, say, would need a text form first)."""
    account = TrafficAccountFactory()
    conversation = ConversationFactory(traffic_account=account)
    instance = {
        Message: lambda: Message(
            customer=account.customer, traffic_account=account, conversation=conversation, channel="sms",
            direction=Message.OUTBOUND, destination="+41790000000", content={"text": "x"}, metadata={"a": 1},
            created_at=timezone.now(), is_test=True,
        ),
        MessageEvent: lambda: MessageEvent(message_id=uuid.uuid4(), status="Ready", occurred_at=timezone.now()),
        Participant: lambda: Participant(conversation=conversation, role=Participant.USER, name="n"),
        Conversation: lambda: Conversation(traffic_account=account, user_identifier="+41790000001"),
    }[model]()
    for field in written_fields(model):
        value = field.get_db_prep_save(field.pre_save(instance, True), connection)
        copy_text(value)  # raises TypeError for a type it has no text form for
        if field.get_internal_type() == "JSONField":
            given = getattr(instance, field.attname)
            assert value is None if given is None else isinstance(value, Jsonb) and value.obj == given
    if model is Conversation:  # auto_now_add is filled by pre_save(add=True), as on a save
        assert instance.created_at is not None


def test_copied_and_inserted_rows_read_back_as_the_instances():
    """The same instance written by COPY (row_layout + copy_lines) and by insert_together reads back
    as the ORM's own save would have written it, and inside the caller's transaction."""
    message = MessageFactory()
    now = timezone.now()
    template = MessageEvent(
        message_id=message.id, status="Sent", occurred_at=now, source="api", detail={"t": 'a\tb\n"c"\\ ü'}
    )
    columns, tail = row_layout(template, ["source"])
    with transaction.atomic(), server_cursor() as cursor:
        copy_lines(cursor, MessageEvent._meta.db_table, columns, ["copy\\tsource" + tail])
    event = MessageEvent(message_id=message.id, status="Failed", occurred_at=now, source="insert", detail=[1, "x"])
    attempt = DispatchAttempt(message_id=message.id, number=1, started_at=now, outcome="sent", request={"a": 1})
    insert_together([event], [attempt])

    rows = {e.source: e for e in MessageEvent.objects.filter(message=message)}
    assert rows["copy\tsource"].detail == template.detail and rows["copy\tsource"].occurred_at == now
    assert rows["insert"].detail == [1, "x"] and rows["insert"].status == "Failed"
    assert DispatchAttempt.objects.get(message=message).request == {"a": 1}
    # insert_together marks its instances stored, so a later save is an UPDATE, not a second INSERT.
    assert attempt._state.adding is False and attempt._state.db == connection.alias
    event.status = "Delivered"
    event_id = MessageEvent.objects.get(message=message, source="insert").id
    event.id = event_id
    event.save(update_fields=["status"])
    assert MessageEvent.objects.get(id=event_id).status == "Delivered"


def test_insert_together_relies_on_deferred_foreign_keys():
    """Several tables in one statement hold their foreign keys because Django creates them
    DEFERRABLE INITIALLY DEFERRED on PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, condeferrable, condeferred FROM pg_constraint"
            " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [[m._meta.db_table for m in (Message, MessageEvent, DispatchAttempt, Participant)]],
        )
        constraints = cursor.fetchall()
    assert constraints
    assert all(deferrable and deferred for _, deferrable, deferred in constraints), constraints


# --- connection.ops.quote_name: every generated statement -----------------------------------


def test_quote_name_double_quotes_once():
    assert connection.ops.quote_name("channels_message") == '"channels_message"'
    assert connection.ops.quote_name('"channels_message"') == '"channels_message"'


# --- psycopg cursor and COPY API, Django's cursor wrapping: server_cursor, copy_lines --------


def test_the_server_cursor_is_a_binding_psycopg_cursor_in_djangos_transaction():
    """server_cursor wraps ``psycopg.Cursor(connection.connection)`` with ``make_cursor`` /
    ``make_debug_cursor``: parameters bound on the server (``%b`` takes a whole list as one), its
    statements logged like Django's own, its work in Django's transaction."""
    connection.ensure_connection()
    assert isinstance(connection.connection, psycopg.Connection)
    ids = uuid4_texts(3)
    assert all(uuid.UUID(i).version == 4 for i in ids)
    with CaptureQueriesContext(connection) as queries, server_cursor() as cursor:
        assert isinstance(cursor, CursorWrapper)
        assert type(cursor.cursor) is psycopg.Cursor
        cursor.execute("SELECT %b::text[]", (ids,))
        assert cursor.fetchone()[0] == ids
    assert any("SELECT" in q["sql"] for q in queries.captured_queries)

    account = TrafficAccountFactory()
    columns, tail = row_layout(Conversation(traffic_account=account), ["id", "user_identifier"])
    conversation_id = uuid.uuid4()
    with pytest.raises(RuntimeError), transaction.atomic(), server_cursor() as cursor:
        copy_lines(cursor, Conversation._meta.db_table, columns, [f"{conversation_id}\t+41790000002{tail}"])
        assert Conversation.objects.filter(id=conversation_id).exists()  # the ORM sees the COPY's row
        raise RuntimeError("roll back")
    assert not Conversation.objects.filter(id=conversation_id).exists()


def test_copy_takes_text_blocks():
    """copy_lines writes ``str`` blocks of COPY text format to ``cursor.copy(statement)``."""
    with server_cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_probe (a text, b integer, c jsonb) ON COMMIT DROP")
        with cursor.copy("COPY copy_probe (a, b, c) FROM STDIN") as copy:
            assert isinstance(copy, psycopg.Copy)
            copy.write('tab\\there\t1\t{"k": "v"}\nnull\t\\N\t\\N\n')
        cursor.execute("SELECT a, b, c FROM copy_probe ORDER BY a DESC")
        # ``\t`` in the stream is a tab; Django's connection loads jsonb as text (from_db_value decodes).
        assert cursor.fetchall() == [("tab\there", 1, '{"k": "v"}'), ("null", None, None)]


# --- Query.sql_with_params: statistics_timeline wraps an ORM query in its own statement ------


def test_a_compiled_queryset_runs_as_a_subquery_with_its_params():
    message = MessageFactory(destination="+41790000003")
    MessageFactory(destination="+41790000004")
    queryset = Message.objects.filter(destination="+41790000003").values("id", "channel")
    sql, params = queryset.query.sql_with_params()
    assert isinstance(params, tuple) and "%s" in sql
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT m.id FROM ({sql}) m WHERE m.channel = %s", [*params, "sms"])  # noqa: S608
        assert cursor.fetchall() == [(message.id,)]
