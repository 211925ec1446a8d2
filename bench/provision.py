"""The benchmark's customer and traffic accounts, and an API client logged in as that customer.

Accounts are created with the ORM (this process runs Django against the benchmark database
with the stack's settings), the token comes from the real login API.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import requests

BENCH_EMAIL = "bench@example.com"
SMS_SENDER = "BenchBrand"
SMS_TEXT = "Your benchmark code is 123456"


@dataclass(frozen=True)
class Accounts:
    customer_id: uuid.UUID
    email: str
    password: str
    primary_sms: uuid.UUID
    backup_sms: uuid.UUID


def accounts_provision(*, provider_url: str) -> Accounts:
    """One customer with two SMS traffic accounts on the fake provider (the second is the failover hop)."""
    from accounts_app.models import Customer, TrafficAccount

    password = secrets.token_urlsafe(18)
    customer = Customer.objects.filter(email=BENCH_EMAIL).first()
    if customer is None:
        customer = Customer.objects.create_user(BENCH_EMAIL, password, name="Benchmark")
    else:
        customer.set_password(password)
        customer.save(update_fields=["password"])
    ids = []
    for name, key in (("Bench SMS", "bench-mitto-key"), ("Bench SMS backup", "bench-mitto-key-2")):
        account = TrafficAccount(
            customer=customer, name=name, channel="sms", credentials={"api_key": key}, base_url=provider_url,
            sender=SMS_SENDER, display_name=name,
        )
        account.full_clean()
        account.save()
        ids.append(account.id)
    return Accounts(
        customer_id=customer.id, email=BENCH_EMAIL, password=password, primary_sms=ids[0], backup_sms=ids[1]
    )


class ApiClient:
    """The Chat API as a client sees it, over one kept-alive connection."""

    def __init__(self, base_url: str, accounts: Accounts) -> None:
        self.base_url = base_url.rstrip("/")
        self.accounts = accounts
        self.session = requests.Session()
        self.token = ""

    def login(self) -> str:
        response = self.session.post(
            f"{self.base_url}/api/v1/Customers/login",
            json={"email": self.accounts.email, "password": self.accounts.password},
            timeout=30,
        )
        response.raise_for_status()
        self.token = response.json()["token"]
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        return self.token

    def post_json_bytes(self, path: str, body: bytes, *, timeout: float = 300) -> requests.Response:
        """POST a pre-encoded body, so only the request itself is timed, not our JSON encoding."""
        return self.session.post(
            f"{self.base_url}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=timeout
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base_url}{path}", params=params, timeout=30)
