"""The seam between the gateway and PostgreSQL where the ORM is bypassed on purpose.

The ORM is the default. A few hot or set-based paths write and read rows without it: COPY for
bulk accepts, one multi-table INSERT per send, model instances built from hand-written SELECTs.
The generic machinery for that lives here and knows no model of ours: it takes model classes,
instances and column lists. Each app's statements live in its ``queries.py``; the rules are in
docs/decisions/raw-sql.md, and tests/gateway/test_db_internals.py fails when a Django or psycopg
upgrade changes an internal these helpers rely on.
"""

from gateway.db.copy_rows import (
    NULL,
    copy_escape,
    copy_lines,
    copy_text,
    row_layout,
    server_cursor,
    uuid4_texts,
)
from gateway.db.hydration import model_from_values, models_from_row, select_list
from gateway.db.multi_insert import insert_together

__all__ = [
    "NULL",
    "copy_escape",
    "copy_lines",
    "copy_text",
    "insert_together",
    "model_from_values",
    "models_from_row",
    "row_layout",
    "select_list",
    "server_cursor",
    "uuid4_texts",
]
