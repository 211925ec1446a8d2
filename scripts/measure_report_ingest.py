"""CPU per Mitto delivery report, in process: the web part (Django test Client posting real-format
DLRs with valid tokens) and, when the tree has it, the drain that applies the stored reports,
plus PostgreSQL's own CPU (its backend's /proc counters) and the statements per report.

    DEBUG=true DATABASE_URL=postgres://.../<a migrated scratch database> REDIS_URL=... \
        .venv/bin/python scripts/measure_report_ingest.py [reports]

Writes rows of its own customer and deletes them at the end. The numbers are in
docs/decisions/report-inbox.md.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from channels_app.callbacks.tokens import issue_callback_token  # noqa: E402
from channels_app.models import Message  # noqa: E402
from channels_app.services.conversations import conversation_get_or_create  # noqa: E402
from channels_app.status import Status  # noqa: E402
from tests.factories import TrafficAccountFactory  # noqa: E402

try:
    from channels_app.services.report_drain import reports_drain
except ImportError:  # the tree before the report inbox applies reports in the request
    reports_drain = None

_TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu_seconds() -> float:
    """CPU (user + system) PostgreSQL's backend of this connection has used so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _messages(account, count: int) -> list[Message]:
    conversation = conversation_get_or_create(account=account, user="+41751231234")
    return Message.objects.bulk_create(
        Message(
            customer=account.customer, traffic_account=account, conversation=conversation, channel="sms",
            direction=Message.OUTBOUND, destination="+41751231234", content={"text": "hi"}, status=Status.SENT,
            provider_message_id=uuid.uuid4().hex,
        )
        for _ in range(count)
    )


def _requests(messages: list[Message]) -> list[tuple[str, bytes]]:
    """Mitto's report as its DLR template posts it, to the tokenised URL dispatch gave it."""
    out = []
    for message in messages:
        token = issue_callback_token(subject=str(message.id), purpose="dlr")
        body = {"messageId": message.provider_message_id, "status": "DELIVRD", "errorcode": "000",
                "timestamp": "2026-12-02T03:00:00Z", "MccMnc": "26201", "Price": "6.00"}
        out.append((f"/callbacks/sms/dlr?token={token}", json.dumps(body).encode()))
    return out


def _post_all(client: Client, requests: list[tuple[str, bytes]]) -> None:
    for url, body in requests:
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 200, response.content


def main(count: int) -> None:
    setup_test_environment()
    client = Client()
    account = TrafficAccountFactory(channel="sms", base_url="")  # the default Mitto host
    try:
        # Warm up: imports, caches, the first connection's prepared state.
        _post_all(client, _requests(_messages(account, 50)))
        if reports_drain:
            reports_drain()

        requests = _requests(_messages(account, count))
        db0, cpu0 = _backend_cpu_seconds(), time.process_time()
        _post_all(client, requests)
        cpu1, db1 = time.process_time(), _backend_cpu_seconds()
        drain_cpu = drain_db = 0.0
        if reports_drain:
            reports_drain()
            cpu2, db2 = time.process_time(), _backend_cpu_seconds()
            drain_cpu, drain_db = cpu2 - cpu1, db2 - db1
        delivered = Message.objects.filter(id__in=[m.id for m in _messages_ids(requests)], status=Status.DELIVERED)
        assert delivered.count() == count, "not every report was applied"

        sample = _requests(_messages(account, 200))
        with CaptureQueriesContext(connection) as web:
            _post_all(client, sample)
        drain_statements = 0
        if reports_drain:
            with CaptureQueriesContext(connection) as drain:
                reports_drain()
            drain_statements = len(drain.captured_queries)

        per = 1000 / count
        print(f"reports: {count}")
        print(f"web   CPU ms/report: python {(cpu1 - cpu0) * per:.3f}  postgres {(db1 - db0) * per:.3f}")
        print(f"drain CPU ms/report: python {drain_cpu * per:.3f}  postgres {drain_db * per:.3f}")
        total = (cpu1 - cpu0 + drain_cpu + db1 - db0 + drain_db) * per
        print(f"total CPU ms/report: {total:.3f}")
        print(f"statements/report: web {len(web.captured_queries) / 200:.3f}  drain {drain_statements / 200:.3f}")
    finally:
        account.customer.delete()


def _messages_ids(requests: list[tuple[str, bytes]]) -> list[Message]:
    import jwt

    return [
        Message(id=uuid.UUID(jwt.decode(url.split("token=")[1], options={"verify_signature": False})["sub"]))
        for url, _ in requests
    ]


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
