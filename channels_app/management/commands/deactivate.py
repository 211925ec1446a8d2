"""``manage.py deactivate``: the kill switch for a customer or one traffic account."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_app.models import Customer, TrafficAccount
from channels_app.services.deactivation import customer_deactivate, traffic_account_deactivate


class Command(BaseCommand):
    help = (
        "Deactivate a customer (by email) or a traffic account (by id): nothing more is sent for it, and its "
        "messages not yet sent are cancelled. Running it again cancels anything that arrived in between."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--customer", help="The customer's email.")
        target.add_argument("--traffic-account", help="The traffic account's id.")

    def handle(self, *args: Any, customer: str | None, traffic_account: str | None, **options: Any) -> None:
        if customer is not None:
            email = customer.strip().lower()
            found = Customer.objects.filter(email=email).first()
            if found is None:
                raise CommandError(f"No customer with email {email}.")
            summary = customer_deactivate(customer=found)
            self.stdout.write(f"Deactivated customer {found.email}; {summary.cancelled} pending messages cancelled")
            return
        try:
            account_id = uuid.UUID(str(traffic_account))
        except ValueError as exc:
            raise CommandError(f"Not a traffic account id: {traffic_account!r}.") from exc
        account = TrafficAccount.objects.filter(id=account_id).first()
        if account is None:
            raise CommandError(f"No traffic account {account_id}.")
        summary = traffic_account_deactivate(account=account)
        self.stdout.write(f"Deactivated traffic account {account.id}; {summary.cancelled} pending messages cancelled")
