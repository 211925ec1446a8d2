"""Drop the single-column indexes Django made for four foreign keys that a composite index or
unique constraint already leads with. Every index is written on each insert (a 10,000-destination
sendbulk writes 50,000 rows) and on each status change that cannot be a HOT update.

Only the indexes are dropped: Django's own AlterField would also drop and re-add each foreign
key, which re-validates every row of the table under lock. The constraints stay as they are.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, column, index Django created for the foreign key)
REDUNDANT = [
    ("channels_app_conversation", "traffic_account_id", "channels_app_conversation_traffic_account_id_22284417"),
    ("channels_app_message", "customer_id", "channels_app_message_customer_id_1b28c88a"),
    ("channels_app_messageevent", "message_id", "channels_app_messageevent_message_id_676d6279"),
    ("channels_app_participant", "conversation_id", "channels_app_participant_conversation_id_318218aa"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts_app", "0001_initial"),
        ("channels_app", "0005_planner_proof_status_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
                )
                for table, column, index in REDUNDANT
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="conversation",
                    name="traffic_account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="conversations",
                        to="accounts_app.trafficaccount",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="messageevent",
                    name="message",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="channels_app.message",
                    ),
                ),
                migrations.AlterField(
                    model_name="participant",
                    name="conversation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="participants",
                        to="channels_app.conversation",
                    ),
                ),
            ],
        ),
    ]
