"""``manage.py mitto_inbound_url --traffic-account ID [--lifetime-days N]``: the two-way SMS URL
to configure at Mitto. Only the URL goes to stdout, so it can be piped into other tools."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts_app.models import TrafficAccount
from channels_app.callbacks.addresses import mitto_inbound_url

DEFAULT_LIFETIME_DAYS = 90


class Command(BaseCommand):
    help = "Print the signed two-way SMS forwarding URL to configure at Mitto for an SMS traffic account."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--traffic-account", required=True, dest="traffic_account")
        parser.add_argument(
            "--lifetime-days",
            type=int,
            default=int(getattr(settings, "MITTO_INBOUND_URL_LIFETIME_DAYS", DEFAULT_LIFETIME_DAYS)),
            help="How long the URL stays valid (default %(default)s days).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["lifetime_days"]
        if days < 1:
            raise CommandError("--lifetime-days must be at least 1")
        try:
            account_id = UUID(options["traffic_account"])
        except ValueError:
            raise CommandError(f"{options['traffic_account']!r} is not a traffic account id") from None
        account = TrafficAccount.objects.filter(id=account_id).first()
        if account is None:
            raise CommandError(f"no traffic account {account_id}")
        try:
            url = mitto_inbound_url(account=account, lifetime_seconds=days * 24 * 3600)
        except ValueError as error:
            raise CommandError(f"{error} (this one is {account.channel})") from None
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        self.stdout.write(url)
        expires = timezone.now() + timedelta(days=days)
        self.stderr.write(
            f"Valid until {expires:%Y-%m-%d %H:%M} UTC, and only while the key that signed it (the first of "
            "MITTO_INBOUND_SIGNING_KEYS) stays listed there."
        )
