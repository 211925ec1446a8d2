"""Let one customer's webhooks reach its own private networks (or show / clear what is allowed).

    manage.py webhook_networks --customer ops@example.com --allow 10.20.0.0/16 --allow fd12:3456::/48
    manage.py webhook_networks --customer ops@example.com --clear
    manage.py webhook_networks --customer ops@example.com          # shows the list

Operators only: the API never changes this list, so a customer cannot open the gateway's own
network to itself.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_app.models import Customer, validate_network


class Command(BaseCommand):
    help = "Show, add or clear the private networks a customer's webhooks may reach."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", required=True, help="The customer's email.")
        parser.add_argument("--allow", action="append", default=[], metavar="CIDR", help="Add a network (repeatable).")
        parser.add_argument("--clear", action="store_true", help="Remove every network first.")

    def handle(self, *args: Any, **options: Any) -> None:
        customer = Customer.objects.filter(email=options["customer"].strip().lower()).first()
        if customer is None:
            raise CommandError(f"No customer with the email {options['customer']}.")
        for cidr in options["allow"]:
            try:
                validate_network(cidr)
            except ValidationError as exc:
                raise CommandError(exc.messages[0]) from None
        networks = [] if options["clear"] else list(customer.webhook_allowed_networks or [])
        networks += [cidr.strip() for cidr in options["allow"] if cidr.strip() not in networks]
        if options["clear"] or options["allow"]:
            customer.webhook_allowed_networks = networks
            customer.save(update_fields=["webhook_allowed_networks"])
        self.stdout.write(", ".join(networks) if networks else "(none: only public addresses)")
