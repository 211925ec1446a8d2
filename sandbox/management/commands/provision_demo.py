"""``make run`` provisions a demo customer with one traffic account per channel on the sandbox.

The traffic account ids are fixed so the README's curl examples work as written. Safe to run
again: what exists is kept. Refuses to run with DEBUG off (demo credentials are public).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_app.models import Customer, TrafficAccount
from channels_app.providers.accounts import provider_account
from channels_app.providers.registry import adapter_for
from channels_app.providers.telegram.adapter import TelegramAdapter
from channels_app.providers.viber.adapter import ViberAdapter

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - development demo only, refused when DEBUG is off

DEMO_ACCOUNTS: dict[str, dict[str, Any]] = {
    "sms": {
        "id": uuid.UUID("00000000-0000-4000-8000-000000000001"),
        "name": "Demo SMS",
        "sender": "DemoBrand",
        "credentials": {"api_key": "demo-mitto-key"},
    },
    "whatsapp": {
        "id": uuid.UUID("00000000-0000-4000-8000-000000000002"),
        "name": "Demo WhatsApp",
        "phone_number": "+15550001111",
        "credentials": {
            "access_token": "demo-whatsapp-token",
            "phone_number_id": "100000000000001",
            "waba_id": "200000000000001",
            "app_secret": "demo-whatsapp-app-secret",
            "verify_token": "demo-whatsapp-verify",
        },
    },
    "viber": {
        "id": uuid.UUID("00000000-0000-4000-8000-000000000003"),
        "name": "Demo Viber",
        "credentials": {"auth_token": "demo-viber-auth-token"},
    },
    "gbm": {
        "id": uuid.UUID("00000000-0000-4000-8000-000000000004"),
        "name": "Demo GBM",
        "credentials": {"client_token": "demo-gbm-client-token"},
    },
    "telegram": {
        "id": uuid.UUID("00000000-0000-4000-8000-000000000005"),
        "name": "Demo Telegram",
        "credentials": {"bot_token": "100000001:demo-telegram-token", "secret_token": "demo-telegram-secret"},
    },
}


def _service_account_json(token_uri: str) -> str:
    """A throw-away Google service-account key whose token endpoint is the sandbox's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "client_email": "demo-agent@sandbox.iam.gserviceaccount.com",
            "private_key_id": "demo",
            "private_key": pem,
            "token_uri": token_uri,
        }
    )


class Command(BaseCommand):
    help = "Create the demo customer and one sandbox traffic account per channel (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--register-webhooks",
            action="store_true",
            help="Point the sandbox's callbacks at this gateway (waits for the sandbox).",
        )
        parser.add_argument("--wait-for-sandbox", type=float, default=60.0, metavar="SECONDS")

    def handle(self, *args: Any, register_webhooks: bool, wait_for_sandbox: float, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("provision_demo creates accounts with public demo credentials: only with DEBUG on.")
        customer = Customer.objects.filter(email=DEMO_EMAIL).first()
        if customer is None:
            customer = Customer.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, name="Demo customer")
        for channel, spec in DEMO_ACCOUNTS.items():
            credentials = dict(spec["credentials"])
            if channel == "gbm":
                credentials["service_account_json"] = _service_account_json(f"{settings.SANDBOX_URL}/token")
            TrafficAccount.objects.get_or_create(
                id=spec["id"],
                defaults={
                    "customer": customer,
                    "name": spec["name"],
                    "channel": channel,
                    "credentials": credentials,
                    "base_url": settings.SANDBOX_URL,
                    "sender": spec.get("sender", ""),
                    "display_name": spec["name"],
                    "phone_number": spec.get("phone_number", ""),
                },
            )
        self.stdout.write(f"demo customer {DEMO_EMAIL} / {DEMO_PASSWORD}")
        for channel, spec in DEMO_ACCOUNTS.items():
            self.stdout.write(f"  {channel:9} traffic account {spec['id']}")
        if register_webhooks:
            self._register_webhooks(wait_for_sandbox)

    def _register_webhooks(self, wait_seconds: float) -> None:
        from sandbox.client import SandboxClient

        sandbox = SandboxClient(settings.SANDBOX_URL)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                sandbox.health()
                break
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"the sandbox at {settings.SANDBOX_URL} did not answer") from exc
                time.sleep(0.5)
        base = settings.PUBLIC_BASE_URL
        accounts = {
            a.channel: a for a in TrafficAccount.objects.filter(id__in=[s["id"] for s in DEMO_ACCOUNTS.values()])
        }
        whatsapp = accounts["whatsapp"]
        sandbox.register_whatsapp(
            whatsapp.credentials["phone_number_id"],
            webhook_url=f"{base}/callbacks/whatsapp/{whatsapp.id}",
            app_secret=whatsapp.credentials["app_secret"],
            waba_id=whatsapp.credentials["waba_id"],
            display_phone_number=whatsapp.phone_number,
        )
        gbm = accounts["gbm"]
        sandbox.register_gbm(webhook_url=f"{base}/callbacks/gbm/{gbm.id}", client_token=gbm.credentials["client_token"])
        # Viber and Telegram have real webhook APIs: register through the adapters, as in production.
        viber = accounts["viber"]
        viber_adapter = cast(ViberAdapter, adapter_for(provider_account(viber)))
        viber_adapter.set_webhook(url=f"{base}/callbacks/viber?ta={viber.id}")
        telegram = accounts["telegram"]
        cast(TelegramAdapter, adapter_for(provider_account(telegram))).set_webhook(
            url=f"{base}/callbacks/telegram?ta={telegram.id}", secret_token=telegram.credentials["secret_token"]
        )
        self.stdout.write(f"sandbox callbacks now go to {base}")
