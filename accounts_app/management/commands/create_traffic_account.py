from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_app.models import Customer, TrafficAccount
from gateway.channels import Channel, channel_credential_keys


class Command(BaseCommand):
    help = "Create a traffic account bound to one channel. Prints the new traffic account id as the last line."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Read when the command runs: the keys are registered by channels_app at start-up.
        self.help = f"{self.help} Credential keys per channel: " + "; ".join(
            f"{c}: {', '.join(k)}" for c, k in channel_credential_keys().items()
        )
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", required=True, help="The customer's email.")
        parser.add_argument("--channel", required=True, choices=Channel.ALL)
        parser.add_argument("--name", required=True)
        parser.add_argument("--base-url", default="", help="Provider base URL (e.g. the sandbox).")
        parser.add_argument("--sender", default="", help="Default SMS sender.")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--phone-number", default="")
        parser.add_argument("--throughput", type=int, default=None, help="Messages per second.")
        parser.add_argument("--test-mode", action="store_true")
        parser.add_argument(
            "--viber-kind", choices=("bot", "business"), default="bot",
            help="Viber only: bot (Viber user ids) or business (Business Messages to phone numbers).",
        )
        parser.add_argument(
            "--credential", action="append", default=[], metavar="KEY=VALUE", help="Repeat per credential."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["customer"].strip().lower()
        customer = Customer.objects.filter(email=email).first()
        if customer is None:
            raise CommandError(f"No customer with email {email}.")
        credentials: dict[str, str] = {}
        for item in options["credential"]:
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise CommandError(f"--credential takes KEY=VALUE, got {item!r}.")
            credentials[key.strip()] = value
        if options["throughput"] is not None and options["throughput"] <= 0:
            raise CommandError("--throughput must be a positive number of messages per second.")
        account = TrafficAccount(
            customer=customer,
            name=options["name"],
            channel=options["channel"],
            credentials=credentials,
            base_url=options["base_url"],
            sender=options["sender"],
            display_name=options["display_name"],
            phone_number=options["phone_number"],
            throughput_per_second=options["throughput"],
            test_mode=options["test_mode"],
            viber_kind=options["viber_kind"],
        )
        try:
            account.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(f"{f}: {' '.join(m)}" for f, m in exc.message_dict.items())) from exc
        account.save()
        self.stdout.write(f"Created {account.channel} traffic account {account.name!r} for {customer.email}")
        self.stdout.write(str(account.id))
