"""Idle sweeps are silent; a sweep that did work says what in one line; each run is on /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from channels_app.models import Message
from channels_app.tasks import sweep_dispatch, sweep_failover
from tests.factories import TrafficAccountFactory
from tests.log_capture import captured_json_logs

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_dispatch_queues")]


def _last_run(sweeper: str) -> float:
    return REGISTRY.get_sample_value("gateway_sweeper_last_run_timestamp_seconds", {"sweeper": sweeper}) or 0.0


def test_idle_sweeps_log_nothing_but_record_their_run():
    before = _last_run("dispatch"), _last_run("failover")
    with captured_json_logs() as logs:
        sweep_dispatch()
        sweep_failover()

    assert logs.lines() == []
    assert _last_run("dispatch") > before[0] and _last_run("failover") > before[1]


def test_a_sweep_that_republished_logs_one_line_with_the_count(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    for destination in ("+41751231234", "+41751231235"):
        response = auth_client.post(
            "/api/v1/Message/send",
            {"trafficAccountId": str(account.id), "destination": destination, "sms": {"text": "hi"}},
            format="json",
        )
        assert response.status_code == 200
    Message.objects.update(queued_until=None)  # as if the publish after accept had been lost

    with captured_json_logs() as logs:
        sweep_dispatch()

    (line,) = logs.lines()
    assert line["event"] == "dispatch sweep: released 0 claims of dead workers, recovered 0 stale claims, republished 2"
    assert line["logger"] == "channels_app.tasks"
