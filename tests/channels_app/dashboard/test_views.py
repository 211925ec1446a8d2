"""/admin/dashboard/: staff only, charts drawn as inline SVG from the delivery timeline,
filtered by range, channel and traffic account through the query string."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.status import Status
from tests.factories import CustomerFactory, MessageFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"


@pytest.fixture
def traffic():
    sms = TrafficAccountFactory(channel="sms", name="Alerts SMS")
    telegram = TrafficAccountFactory(channel="telegram", name="Support bot")
    now = timezone.now() - timedelta(minutes=5)
    MessageFactory(traffic_account=sms, created_at=now, sent_at=now, delivered_at=now + timedelta(seconds=3),
                   status=Status.DELIVERED)
    MessageFactory(traffic_account=sms, created_at=now, failed_at=now, status=Status.FAILED)
    MessageFactory(traffic_account=telegram, created_at=now, sent_at=now, status=Status.SENT)
    MessageFactory(traffic_account=sms, created_at=now - timedelta(hours=3), status=Status.SENT)  # day view only
    return sms, telegram


def _panels(html: str) -> list[str]:
    return re.findall(r'<section class="dashboard-panel" data-series="([^"]+)"', html)


def test_anonymous_and_non_staff_are_sent_to_the_admin_login(client):
    assert client.get(URL)["Location"].startswith("/admin/login/")
    client.force_login(CustomerFactory())
    assert client.get(URL)["Location"].startswith("/admin/login/")


def test_hour_view_draws_a_chart_per_channel_and_account(operator_client, traffic):
    sms, telegram = traffic

    response = operator_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert _panels(html) == ["all", "sms", "telegram", f"sms/{sms.id}", f"telegram/{telegram.id}"]
    assert html.count('<svg class="delivery-chart"') == 5
    assert html.count('class="series series-delivered"') == 5
    # The overall chart: points for 3 accepted, 2 sent, 1 delivered, 1 failed, each with a tooltip.
    overall = html.split('<section class="dashboard-panel"')[1]
    counts = re.findall(r'data-kind="(\w+)" data-count="(\d+)"', overall)
    assert sorted(counts) == [("accepted", "3"), ("delivered", "1"), ("failed", "1"), ("sent", "2")]
    assert re.search(r"<title>\d\d:\d\d delivered: 1</title>", overall)
    assert '<td class="delivery-rate">50 %</td>' in overall  # 1 of 2 SMS; Telegram has no receipts
    assert '<td class="delivery-rate">n/a (no receipts)</td>' in html
    assert '<td class="p95">3.0 s</td>' in overall
    assert "Alerts SMS" in html and "Support bot" in html
    assert "per minute" in html


def test_filters_narrow_the_charts(operator_client, traffic):
    sms, telegram = traffic

    by_channel = operator_client.get(URL, {"channel": "telegram"}).content.decode()
    by_account = operator_client.get(URL, {"traffic_account": str(sms.id)}).content.decode()
    day = operator_client.get(URL, {"range": "day"}).content.decode()

    assert _panels(by_channel) == ["all", "telegram", f"telegram/{telegram.id}"]
    assert _panels(by_account) == ["all", "sms", f"sms/{sms.id}"]
    assert "per 15 minutes" in day
    day_overall = day.split('<section class="dashboard-panel"')[1]
    day_points = re.findall(r'data-kind="(\w+)" data-count="(\d+)"', day_overall)
    assert sum(int(n) for kind, n in day_points if kind == "accepted") == 4


def test_invalid_filters_answer_400_with_the_form_errors(operator_client):
    response = operator_client.get(URL, {"range": "year", "traffic_account": "not-an-id"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert '<svg class="delivery-chart"' in html  # still the default view below the errors


def test_an_empty_window_says_so(operator_client):
    html = operator_client.get(URL).content.decode()

    assert _panels(html) == ["all"]
    assert "no messages in this window" in html
