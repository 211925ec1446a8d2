"""Warm-up, and a count of the SQL statements each kind of request costs.

gunicorn workers import URL modules and views on their first request, so the first seconds of
a cold web measure imports, not the gateway: ``warm_up`` sends a little of every kind of
traffic first. ``query_census`` then runs one request of each kind in this process through
Django's test client and counts its statements: on a machine where PostgreSQL round trips
dominate (the profiles show web threads mostly waiting in psycopg), that count is the lever.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from bench.loadgen import LoadSpec
from bench.provision import SMS_SENDER, SMS_TEXT
from bench.scenarios.common import BenchContext, destinations, post_bulk, sms_bulk_body

WARM_UP_SECONDS = 2


def warm_up(ctx: BenchContext) -> None:
    """Every web worker serves sends, sendbulk and DLRs (the sandbox reports the sends back)."""
    spec = LoadSpec(
        url=ctx.config.web_url, mode="send", connections=max(4, ctx.config.web_workers * 2),
        duration_seconds=WARM_UP_SECONDS, token=ctx.api.token, account=str(ctx.accounts.primary_sms),
        text=SMS_TEXT, sender=SMS_SENDER, threads=2,
    )
    load = ctx.loadgen.process(spec).start()
    for n in range(ctx.config.web_workers * 2):
        post_bulk(ctx, sms_bulk_body(account=ctx.accounts.primary_sms, numbers=destinations("+4174", n * 100, 100)))
    load.finish(timeout=WARM_UP_SECONDS + 60)


_TABLE_AFTER = {"SELECT": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}


def _kind(sql: str) -> str:
    """``INSERT channels_app_message``, ``SELECT accounts_app_customer``, ``BEGIN`` ..."""
    words = sql.split()
    head = words[0].upper() if words else "?"
    keyword = _TABLE_AFTER.get(head)
    upper = [w.upper() for w in words]
    if keyword is None or keyword not in upper:
        return head
    index = upper.index(keyword)
    table = words[index + 1] if index + 1 < len(words) else ""
    return f"{head} {table.split('(')[0].strip(chr(34))}".strip()


def _count(call: Any) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        status = call()
    kinds = Counter(_kind(q["sql"]) for q in captured.captured_queries)
    return {"status": status, "statements": len(captured.captured_queries), "by_kind": dict(kinds.most_common())}


def query_census(ctx: BenchContext) -> dict[str, Any]:
    """Statements per Message/send, per DLR and per 100-destination sendbulk."""
    from django.test import Client

    from bench.scenarios.dlr_ingest import DLR_PATH, sent_messages
    from channels_app.callbacks.tokens import callback_url_with_token, issue_callback_token

    client = Client(HTTP_AUTHORIZATION=f"Bearer {ctx.api.token}")
    account = str(ctx.accounts.primary_sms)

    def send() -> int:
        body = {"trafficAccountId": account, "destination": f"+4173{uuid.uuid4().int % 10_000_000:07d}",
                "sms": {"text": SMS_TEXT, "sender": SMS_SENDER}}
        return client.post("/api/v1/Message/send", body, content_type="application/json").status_code

    def bulk() -> int:
        body = sms_bulk_body(account=ctx.accounts.primary_sms, numbers=destinations("+4172", 0, 100))
        return client.post("/api/v1/Messages/sendbulk", body, content_type="application/json").status_code

    [(message_id, provider_id)] = sent_messages(ctx, count=1, bulk_id=uuid.uuid4())

    def dlr() -> int:
        url = callback_url_with_token(DLR_PATH, issue_callback_token(subject=str(message_id), purpose="dlr"))
        body = json.dumps({"messageId": provider_id, "status": "Delivered", "errorcode": "0"})
        return Client().post(url, body, content_type="application/json").status_code

    send()  # the first send of a process also creates what later ones reuse
    return {"message_send": _count(send), "sendbulk_100": _count(bulk), "dlr": _count(dlr)}
