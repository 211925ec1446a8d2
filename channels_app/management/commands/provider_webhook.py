"""``manage.py provider_webhook {set,show,delete} --traffic-account ID`` for Telegram and Viber."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError

from accounts_app.models import TrafficAccount
from channels_app.callbacks.registration import (
    WebhookNotManaged,
    provider_webhook_delete,
    provider_webhook_set,
    provider_webhook_show,
)
from channels_app.providers.base import SendError

_ACTIONS = {"set": provider_webhook_set, "show": provider_webhook_show, "delete": provider_webhook_delete}


def _account(raw_id: str) -> TrafficAccount:
    try:
        account_id = UUID(raw_id)
    except ValueError:
        raise CommandError(f"{raw_id!r} is not a traffic account id") from None
    account = TrafficAccount.objects.filter(id=account_id).first()
    if account is None:
        raise CommandError(f"no traffic account {account_id}")
    return account


class Command(BaseCommand):
    help = "Register, show or remove the provider-side webhook of a Telegram or Viber traffic account."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=sorted(_ACTIONS))
        parser.add_argument("--traffic-account", required=True, dest="traffic_account")

    def handle(self, *args: Any, **options: Any) -> None:
        account = _account(options["traffic_account"])
        try:
            answer = _ACTIONS[options["action"]](account=account)
        except WebhookNotManaged as refusal:
            raise CommandError(str(refusal)) from None
        except SendError as error:
            raise CommandError(f"{account.channel} refused ({error.kind} {error.code}): {error.text}") from None
        self.stdout.write(json.dumps(answer, indent=2, sort_keys=True, default=str))
