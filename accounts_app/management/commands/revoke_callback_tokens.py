"""Revoke every outstanding Mitto callback URL of one traffic account.

    manage.py revoke_callback_tokens --traffic-account ID

Bumps the account's callback-token generation: delivery-report URLs of messages already sent
and the two-way SMS forwarding URL stop working at once (401), while other accounts, which share
the signing keys, are untouched. Configure a new forwarding URL afterwards
(``manage.py mitto_inbound_url``); messages sent from now on carry new DLR URLs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import F

from accounts_app.models import TrafficAccount


class Command(BaseCommand):
    help = "Revoke every outstanding Mitto callback URL (DLR and two-way SMS) of one traffic account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--traffic-account", required=True, dest="traffic_account")

    def handle(self, *args: Any, **options: Any) -> None:
        updated = TrafficAccount.objects.filter(id=options["traffic_account"]).update(
            callback_token_generation=F("callback_token_generation") + 1
        )
        if not updated:
            raise CommandError(f"No traffic account {options['traffic_account']}.")
        generation = TrafficAccount.objects.values_list("callback_token_generation", flat=True).get(
            id=options["traffic_account"]
        )
        self.stdout.write(f"Callback tokens revoked; the account now signs generation {generation}.")
