"""The statements of webhooks_app that the ORM does not write: each one here, with why it is raw.

Services and selectors call these functions instead of holding SQL of their own
(docs/decisions/raw-sql.md): table names come from our models, every value is a bound parameter.
"""

from __future__ import annotations

import uuid

from django.db import connection

from accounts_app.models import TrafficAccount
from webhooks_app.models import Webhook, WebhookTrafficAccount

# The join on the account's customer keeps a webhook from firing for an account of another
# customer, whatever the mapping table says.
_SUBSCRIBED_SQL = (
    f"SELECT w.id FROM {Webhook._meta.db_table} w"  # noqa: S608
    f" JOIN {WebhookTrafficAccount._meta.db_table} m ON m.webhook_id = w.id"
    f" JOIN {TrafficAccount._meta.db_table} a ON a.id = m.traffic_account_id AND a.customer_id = w.customer_id"
    " WHERE m.traffic_account_id = %s AND w.is_active AND w.triggers @> ARRAY[%s]::varchar[]"
    " ORDER BY w.id"
    " FOR KEY SHARE OF w"
)


def subscribed_webhook_ids(*, traffic_account_id: uuid.UUID, trigger: str) -> list[uuid.UUID]:
    """Ids of the active webhooks of the account's customer, applied to the account, that
    subscribe to ``trigger``, locked ``FOR KEY SHARE``. Raw: the ORM's ``select_for_update`` has
    no KEY SHARE strength, and this runs on every status change (one fixed statement)."""
    with connection.cursor() as cursor:
        cursor.execute(_SUBSCRIBED_SQL, [traffic_account_id, trigger])
        return [row[0] for row in cursor.fetchall()]
