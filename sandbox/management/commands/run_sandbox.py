"""``python manage.py run_sandbox``: serve the provider sandbox under gunicorn."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sandbox.server import SandboxServer, gunicorn_options


class Command(BaseCommand):
    help = "Serve the local provider sandbox (Mitto SMS, WhatsApp, Viber, GBM, Telegram) under gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=16)
        parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"provider sandbox on http://{options['host']}:{options['port']}/ (control: /_sandbox/)")
        SandboxServer(
            gunicorn_options(
                host=options["host"], port=options["port"], workers=options["workers"],
                threads=options["threads"], log_level=options["log_level"],
            )
        ).run()
