"""/metrics: Prometheus text for operator networks only; counters move with real traffic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import responses
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from channels_app.callbacks.tokens import issue_callback_token
from channels_app.models import Message
from channels_app.services.dispatch import messages_dispatch
from channels_app.services.report_drain import reports_drain
from channels_app.status import Status
from tests.channels_app.callbacks.helpers import fixture_bytes, fixture_json, sent_message
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

MITTO_OK = {"id": "715118ef01aa4480bbd67324a0459b0b", "responseCode": 0, "responseText": "SMS sent"}


def scrape(client: Client) -> str:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample, 0 when it has not been recorded yet."""
    for family in text_string_to_metric_families(text):
        for candidate in family.samples:
            if candidate.name == name and all(candidate.labels.get(k) == v for k, v in labels.items()):
                return candidate.value
    return 0.0


def test_sending_counts_the_accepted_message_and_its_provider_call(
    auth_client, client, django_capture_on_commit_callbacks
):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms", base_url="https://mitto.test")
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            "/api/v1/Message/send",
            {"trafficAccountId": str(account.id), "destination": "+41751231234", "sms": {"text": "hi"}},
            format="json",
        )
    assert response.status_code == 200, response.json()
    with responses.RequestsMock() as provider:
        provider.post("https://mitto.test/sms", json=MITTO_OK)
        messages_dispatch([Message.objects.get(id=response.json()["messageId"]).id])
    after = scrape(client)

    assert sample(after, "gateway_messages_accepted_total", channel="sms") == (
        sample(before, "gateway_messages_accepted_total", channel="sms") + 1
    )
    assert sample(after, "gateway_messages_dispatched_total", channel="sms", outcome="sent") == (
        sample(before, "gateway_messages_dispatched_total", channel="sms", outcome="sent") + 1
    )
    assert sample(after, "gateway_provider_call_seconds_count", channel="sms") == (
        sample(before, "gateway_provider_call_seconds_count", channel="sms") + 1
    )


def test_an_applied_delivery_report_is_counted_by_channel_and_status(client, django_capture_on_commit_callbacks):
    account = TrafficAccountFactory(channel="sms")
    message = sent_message(
        account, destination="+41751231234", provider_message_id=fixture_json("mitto_sms", "dlr_delivered")["messageId"]
    )
    token = issue_callback_token(subject=str(message.id), purpose="dlr")
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/callbacks/sms/dlr?token={token}",
            data=fixture_bytes("mitto_sms", "dlr_delivered"),
            content_type="application/json",
        )
        reports_drain()  # the Celery task that applies stored reports
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED

    after = scrape(client)
    labels = {"channel": "sms", "status": "Delivered"}
    assert sample(after, "gateway_delivery_reports_applied_total", **labels) == (
        sample(before, "gateway_delivery_reports_applied_total", **labels) + 1
    )


@pytest.mark.parametrize("address", ["203.0.113.9", "10.1.2.3", "2001:db8::1", ""])
def test_other_networks_get_a_plain_404(client, address):
    response = client.get("/metrics", REMOTE_ADDR=address)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert b"gateway_" not in response.content


def test_a_configured_operator_network_may_scrape(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_every_process_of_a_shared_directory_is_added_up(client, tmp_path, monkeypatch):
    """What gunicorn workers and Celery processes do under `make run`: each counts in its own
    files under PROMETHEUS_MULTIPROC_DIR, and any web worker's /metrics shows the sum."""
    count = "import django; django.setup(); from gateway import metrics; metrics.messages_accepted('viber', {n})"
    for n in (2, 3):
        subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", count.format(n=n)],
            cwd=ROOT,
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "gateway.settings"},
            check=True,
            timeout=60,
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    assert sample(scrape(client), "gateway_messages_accepted_total", channel="viber") == 5
