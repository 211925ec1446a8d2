"""Re-encrypt every stored secret with the newest key of FIELD_ENCRYPTION_KEYS.

Key rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it),
restart, run this command, then remove the old keys. Rows are rewritten in batches, each in its
own transaction, so the command can be stopped and run again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from gateway.db.columns import column_value_set, column_values
from gateway.encryption import DecryptionFailed, encrypted_columns, rotate_token


class Command(BaseCommand):
    help = "Re-encrypt provider credentials and webhook secrets with the first FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        batch = max(1, options["batch_size"])
        for table, pk, column in encrypted_columns():
            done = 0
            last = None
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    rows = column_values(cursor, table, pk, column, after=last, limit=batch, lock=True)
                    for key, token in rows:
                        try:
                            rotated = rotate_token(token)
                        except DecryptionFailed as exc:
                            raise CommandError(f"{table}.{column} row {key}: {exc}") from None
                        column_value_set(cursor, table, pk, column, key, rotated)
                if not rows:
                    break
                done += len(rows)
                last = rows[-1][0]
            self.stdout.write(f"{table}.{column}: {done} re-encrypted")
