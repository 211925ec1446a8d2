"""Structured logs: JSON lines, the request id in and out, ids bound, secrets redacted, idle quiet."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from celery.app import trace

from tests.factories import TrafficAccountFactory
from tests.log_capture import captured_json_logs

pytestmark = pytest.mark.django_db


def test_a_well_formed_request_id_is_returned_and_logged_with_the_customer(auth_client):
    with captured_json_logs() as logs:
        response = auth_client.get("/api/v1/Messages", HTTP_X_REQUEST_ID="client-trace.42")

    assert response.status_code == 200
    assert response["X-Request-ID"] == "client-trace.42"
    access = [line for line in logs.lines() if line["event"] == "request"]
    assert len(access) == 1
    assert access[0]["request_id"] == "client-trace.42"
    assert access[0]["customer_id"] == str(auth_client.customer.id)
    assert access[0]["status"] == 200 and access[0]["path"] == "/api/v1/messages"


@pytest.mark.parametrize("sent", [None, "", "x" * 129, 'bad"quote', "line\nbreak", "spa ce"])
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    response = client.get("/livez", **headers)

    returned = response["X-Request-ID"]
    assert returned != sent
    assert len(returned) == 32 and all(c in "0123456789abcdef" for c in returned)


@pytest.mark.django_db(transaction=True)  # the line is written when the send commits, inside the request
def test_a_send_logs_its_message_ids_and_traffic_account(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="telegram")
    with captured_json_logs() as logs:
        response = auth_client.post(
            "/api/v1/Message/send",
            {"trafficAccountId": str(account.id), "destination": "1861312834", "telegram": {"text": {"message": "x"}}},
            format="json",
            HTTP_X_REQUEST_ID="send-1",
        )

    assert response.status_code == 200, response.json()
    accepted = next(line for line in logs.lines() if line["event"] == "accepted")
    assert accepted["message_ids"] == [response.json()["messageId"]]
    assert accepted["request_id"] == "send-1"
    assert accepted["traffic_account_id"] == str(account.id)
    assert accepted["customer_id"] == str(auth_client.customer.id)


def test_secrets_are_redacted_from_fields_and_text(auth_client):
    with captured_json_logs() as logs:
        structlog.get_logger("test").info(
            "provider call",
            headers={"Authorization": "Bearer eyJhbGciOi.secret.part", "Accept": "application/json"},
            password="hunter2-hunter2",
            credentials={"bot_token": "123456:ABCDEF"},
            api_key="mitto-key-1",
        )
        logging.getLogger("requests.test").warning(
            "failed: https://api.telegram.org/bot123456:ABCDEF/sendMessage and /callbacks/sms/dlr?token=eyJtok.en"
            " with Authorization: Bearer eyJhbGciOi.secret.part"
        )

    text = logs.text
    for secret in ("eyJhbGciOi.secret.part", "hunter2-hunter2", "123456:ABCDEF", "mitto-key-1", "eyJtok.en"):
        assert secret not in text
    first, second = logs.lines()
    assert first["headers"] == {"Authorization": "[REDACTED]", "Accept": "application/json"}
    assert first["password"] == "[REDACTED]" and first["credentials"] == "[REDACTED]"
    assert "/bot[REDACTED]/sendMessage" in second["event"] and "token=[REDACTED]" in second["event"]


def test_celerys_announcements_of_housekeeping_sweeps_are_dropped_and_others_kept():
    sweep = {"id": "1", "name": "channels.sweep_failover", "return_value": None, "runtime": 0.001, "args": "()",
             "kwargs": "{}", "eta": None}
    dispatch = {**sweep, "name": "channels.dispatch_messages"}
    with captured_json_logs() as logs:
        logging.getLogger("celery.beat").info(
            "Scheduler: Sending due task %s (%s)", "sweep-failover", "channels.sweep_failover"
        )
        logging.getLogger("celery.worker.strategy").info(trace.LOG_RECEIVED, sweep)
        logging.getLogger("celery.app.trace").info(trace.LOG_SUCCESS, sweep)
        logging.getLogger("celery.app.trace").info(trace.LOG_SUCCESS, dispatch)
        logging.getLogger("celery.app.trace").error(trace.LOG_FAILURE, {**sweep, "exc": "boom", "description": "x"})

    events = [line["event"] for line in logs.lines()]
    assert len(events) == 2
    assert "channels.dispatch_messages" in events[0] and "succeeded" in events[0]
    assert "channels.sweep_failover" in events[1] and "boom" in events[1]


def test_with_debug_on_a_request_warning_is_one_json_line_not_also_plain_text():
    """`make run` runs with DEBUG on, where Django adds a plain-text console handler of its own."""
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').error('Service Unavailable: %s', '/readyz')"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
        env={**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "gateway.settings"}, check=True, timeout=60,
    )

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert json.loads(lines[0])["event"] == "Service Unavailable: /readyz"
    assert json.loads(lines[0])["logger"] == "django.request"


def test_a_python_warning_is_a_json_line():
    """Celery warns on start-up (e.g. running as root) through the warnings module."""
    script = "import django, warnings; django.setup(); warnings.warn('running as root', RuntimeWarning)"
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
        env={**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "gateway.settings"}, check=True, timeout=60,
    )

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = json.loads(lines[0])
    assert line["logger"] == "py.warnings" and "running as root" in line["event"]
