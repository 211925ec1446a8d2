from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts_app.models import Customer


class Command(BaseCommand):
    help = "Create a Chat API customer (email login). Prints the customer id as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--staff", action="store_true", help="Also allow Django admin access.")

    def handle(self, *args: Any, email: str, password: str, name: str, staff: bool, **options: Any) -> None:
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"Invalid email address: {email!r}.") from exc
        if Customer.objects.filter(email=email).exists():
            raise CommandError(f"A customer with email {email} already exists.")
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError("Password rejected: " + " ".join(exc.messages)) from exc
        customer = Customer.objects.create_user(email, password, name=name, is_staff=staff, is_superuser=staff)
        self.stdout.write(f"Created customer {customer.email}")
        self.stdout.write(str(customer.id))
