"""CPU per request of the hot API routes, measured in-process (docs/performance-hot-paths.md).

Posts ``--requests`` single sends and ``--bulk-requests`` small sendbulks through Django's test
client (the whole middleware stack, the real PostgreSQL and Redis, no HTTP server in between)
and reports the CPU time each request cost: ``time.process_time`` (every thread of the process,
so the background publisher that hands sends to the broker is included) and ``time.thread_time``
(the request's own thread). A third loop times the Bearer authentication alone.

A last loop alternates, request by request in the same process, single sends through the lean
path (``Accept: */*``) and through DRF's full cycle (an ``Accept`` header the lean path leaves to
DRF): on a loaded machine the drift between runs is larger than the difference, and alternating
cancels it. On code without the lean path both halves take DRF's cycle (a control).

Run with DEBUG off, as production does (DEBUG logs every SQL statement): the script sets
throw-away secrets for that unless the environment has its own. It creates a customer with an
SMS traffic account in test mode, and deletes it (with its messages) at the end. The dispatch
tasks it publishes go to the broker of ``REDIS_URL``; no worker needs to run. The results are
printed on stdout; the gateway's own log lines go to stderr.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python scripts/measure_hot_paths.py 2> /dev/null
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("JWT_SIGNING_KEY", secrets.token_urlsafe(48))
os.environ.setdefault("MITTO_DLR_SIGNING_KEYS", secrets.token_urlsafe(48))
os.environ.setdefault("MITTO_INBOUND_SIGNING_KEYS", secrets.token_urlsafe(48))
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
os.environ.setdefault("API_RATE_PER_SECOND", "100000")  # the limit is checked, never reached

import django

django.setup()

import orjson  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402

from accounts_app.authentication import JWTAuthentication  # noqa: E402
from accounts_app.models import Customer, TrafficAccount  # noqa: E402
from accounts_app.tokens import token_issue  # noqa: E402

# Negotiated by DRF to its JSON renderer like */*, but not one the lean path answers itself.
DRF_ACCEPT = "application/json, */*"


def _timed(count: int, one: Callable[[int], None]) -> tuple[list[float], list[float]]:
    process, thread = [], []
    for index in range(count):
        started_process, started_thread = time.process_time(), time.thread_time()
        one(index)
        thread.append(time.thread_time() - started_thread)
        process.append(time.process_time() - started_process)
    return process, thread


def _alternating(count: int, first: Callable[[int], None], second: Callable[[int], None]) -> list[list[float]]:
    """CPU per request of two kinds of request, alternated (and their order swapped every round)."""
    process: list[list[float]] = [[], [], [], []]
    for index in range(count):
        order = ((0, first), (1, second)) if index % 2 == 0 else ((1, second), (0, first))
        for slot, one in order:
            started_process, started_thread = time.process_time(), time.thread_time()
            one(index)
            process[slot + 2].append(time.thread_time() - started_thread)
            process[slot].append(time.process_time() - started_process)
    return process


def _report(name: str, process: list[float], thread: list[float], unit: float = 1000.0, label: str = "ms") -> None:
    print(
        f"{name:<28} n={len(process):<5} process_time mean {statistics.fmean(process) * unit:7.3f} {label}"
        f"  median {statistics.median(process) * unit:7.3f} {label}"
        f"   thread_time mean {statistics.fmean(thread) * unit:7.3f} {label}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--bulk-requests", type=int, default=100)
    parser.add_argument("--bulk-size", type=int, default=10)
    parser.add_argument("--auth-calls", type=int, default=5000)
    parser.add_argument("--warm-up", type=int, default=50)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    customer = Customer.objects.create_user(f"perf-{uuid.uuid4().hex[:12]}@example.com", secrets.token_urlsafe(16))
    account = TrafficAccount.objects.create(
        customer=customer, name="perf", channel="sms", credentials={"api_key": "k"}, sender="Perf",
        base_url="https://provider.test", test_mode=True,
    )
    token = token_issue(customer=customer).token
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    send = orjson.dumps({"trafficAccountId": str(account.id), "destination": "+41751231234",
                         "sms": {"text": "Hi, this is a test message.", "sender": "Perf"}})
    destinations = [f"+4175123{n:04d}" for n in range(args.bulk_size)]
    bulk = orjson.dumps({"trafficAccountId": str(account.id), "destinations": destinations,
                         "sms": {"text": "Hi, this is a test message.", "sender": "Perf"}})

    def post(path: str, body: bytes, accept: str = "*/*") -> Callable[[int], None]:
        def one(_: int) -> None:
            response = client.post(path, body, content_type="application/json", HTTP_ACCEPT=accept)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")

        return one

    factory = RequestFactory()
    auth_request = factory.post("/api/v1/Message/send", HTTP_AUTHORIZATION=f"Bearer {token}")

    def authenticate(_: int) -> None:
        if JWTAuthentication().authenticate(auth_request) is None:
            raise SystemExit("authentication refused the token")

    try:
        _timed(args.warm_up, post("/api/v1/Message/send", send))
        _report("POST /Message/send", *_timed(args.requests, post("/api/v1/Message/send", send)))
        _timed(max(1, args.warm_up // 5), post("/api/v1.1/Messages/sendbulk", bulk))
        _report(
            f"POST /Messages/sendbulk x{args.bulk_size}",
            *_timed(args.bulk_requests, post("/api/v1.1/Messages/sendbulk", bulk)),
        )
        _report("Bearer authentication", *_timed(args.auth_calls, authenticate), unit=1e6, label="us")
        lean, drf, lean_thread, drf_thread = _alternating(
            args.requests, post("/api/v1/Message/send", send), post("/api/v1/Message/send", send, DRF_ACCEPT)
        )
        _report("send, Accept */*", lean, lean_thread)
        _report("send, Accept for DRF cycle", drf, drf_thread)
    finally:
        customer.delete()


if __name__ == "__main__":
    main()
