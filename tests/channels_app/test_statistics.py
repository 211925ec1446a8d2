"""GET /statistics: counts per traffic account, channel and status over [from, to), without
never-triggered failover hops, scoped to the customer, with validation problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from channels_app.models import Conversation, Message
from channels_app.services.statistics import message_statistics
from channels_app.status import Status
from tests.factories import CustomerFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

FROM = datetime(2024, 5, 1, tzinfo=UTC)
TO = datetime(2024, 6, 1, tzinfo=UTC)
WINDOW = "from=2024-05-01T00:00:00Z&to=2024-06-01T00:00:00Z"


def _message(
    account,
    status: str,
    created_at: datetime,
    *,
    triggered: bool = True,
    direction: str = Message.OUTBOUND,
) -> Message:
    conversation, _ = Conversation.objects.get_or_create(traffic_account=account, user_identifier="+41751231234")
    message = Message.objects.create(
        customer=account.customer,
        traffic_account=account,
        conversation=conversation,
        channel=account.channel,
        direction=direction,
        destination="+41751231234",
        status=status,
        triggered_at=created_at if triggered else None,
    )
    Message.objects.filter(id=message.id).update(created_at=created_at)  # created_at is auto_now_add
    return message


def _items(body: dict) -> set[tuple[str, str, str, int]]:
    return {(i["trafficAccountId"], i["channel"], i["deliveryStatus"], i["count"]) for i in body["items"]}


@pytest.fixture
def sms(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="sms")


@pytest.fixture
def whatsapp(auth_client):
    return TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")


def test_counts_per_account_channel_and_status(auth_client, sms, whatsapp):
    during = FROM + timedelta(days=3)
    for status in (Status.DELIVERED, Status.DELIVERED, Status.FAILED):
        _message(sms, status, during)
    _message(whatsapp, Status.READ, during)

    response = auth_client.get(f"/api/v1/statistics?{WINDOW}")

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"]) == ("2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z")
    assert _items(body) == {
        (str(sms.id), "sms", "Delivered", 2),
        (str(sms.id), "sms", "Failed", 1),
        (str(whatsapp.id), "whatsapp", "Read", 1),
    }
    assert body["totals"] == {"Delivered": 2, "Failed": 1, "Read": 1}
    assert body["total"] == 4


def test_never_triggered_failover_hops_and_inbound_messages_are_left_out(auth_client, sms, whatsapp):
    during = FROM + timedelta(days=1)
    _message(whatsapp, Status.FAILED, during)
    _message(sms, Status.DELIVERED, during)  # the hop that was triggered
    _message(sms, Status.SCHEDULED, during, triggered=False)  # a backup still waiting
    _message(sms, Status.CANCELLED, during, triggered=False)  # a backup no longer needed
    _message(whatsapp, Status.RECEIVED, during, direction=Message.INBOUND)

    body = auth_client.get(f"/api/v1/statistics?{WINDOW}").json()

    assert _items(body) == {(str(whatsapp.id), "whatsapp", "Failed", 1), (str(sms.id), "sms", "Delivered", 1)}


def test_the_window_includes_from_and_excludes_to(auth_client, sms):
    _message(sms, Status.SENT, FROM - timedelta(microseconds=1))
    _message(sms, Status.DELIVERED, FROM)
    _message(sms, Status.DELIVERED, TO - timedelta(microseconds=1))
    _message(sms, Status.READ, TO)

    body = auth_client.get(f"/api/v1/statistics?{WINDOW}").json()

    assert body["totals"] == {"Delivered": 2}


def test_dates_and_offsets_are_accepted(auth_client, sms):
    _message(sms, Status.DELIVERED, datetime(2024, 5, 1, 23, 30, tzinfo=UTC))

    by_date = auth_client.get("/api/v1/statistics?from=2024-05-01&to=2024-05-02").json()
    # 2024-05-02T01:00+02:00 is 23:00 UTC on the 1st: the message at 23:30 is after it.
    by_offset = auth_client.get(
        "/api/v1/statistics", {"from": "2024-05-01T00:00:00", "to": "2024-05-02T01:00:00+02:00"}
    )

    assert by_date["total"] == 1
    assert by_offset.json()["total"] == 0
    assert by_offset.json()["to"] == "2024-05-01T23:00:00Z"


def test_filters_by_traffic_account_and_channel(auth_client, sms, whatsapp):
    during = FROM + timedelta(days=1)
    other_sms = TrafficAccountFactory(customer=auth_client.customer, channel="sms")
    _message(sms, Status.DELIVERED, during)
    _message(other_sms, Status.FAILED, during)
    _message(whatsapp, Status.READ, during)

    by_account = auth_client.get(f"/api/v1/statistics?{WINDOW}&trafficAccountId={sms.id}").json()
    by_channel = auth_client.get(f"/api/v1.1/Statistics?{WINDOW}&channel=SMS").json()

    assert _items(by_account) == {(str(sms.id), "sms", "Delivered", 1)}
    assert _items(by_channel) == {(str(sms.id), "sms", "Delivered", 1), (str(other_sms.id), "sms", "Failed", 1)}


def test_another_customers_messages_are_never_counted(auth_client, client_for, sms):
    during = FROM + timedelta(days=1)
    stranger = CustomerFactory()
    foreign = TrafficAccountFactory(customer=stranger, channel="sms")
    _message(sms, Status.DELIVERED, during)
    _message(foreign, Status.FAILED, during)

    mine = auth_client.get(f"/api/v1/statistics?{WINDOW}").json()
    asking_for_theirs = auth_client.get(f"/api/v1/statistics?{WINDOW}&trafficAccountId={foreign.id}").json()
    theirs = client_for(stranger).get(f"/api/v1/statistics?{WINDOW}").json()

    assert mine["totals"] == {"Delivered": 1}
    assert asking_for_theirs["items"] == [] and asking_for_theirs["total"] == 0
    assert theirs["totals"] == {"Failed": 1}


def test_an_empty_window_answers_empty_counts(auth_client):
    body = auth_client.get(f"/api/v1/statistics?{WINDOW}").json()

    assert (body["items"], body["totals"], body["total"]) == ([], {}, 0)


@pytest.mark.parametrize(
    ("query", "paths"),
    [
        ("", {"from", "to"}),
        ("from=2024-05-01T00:00:00Z", {"to"}),
        ("from=yesterday&to=2024-05-02", {"from"}),
        ("from=2024-05-01&to=2024-13-45", {"to"}),
        ("from=2024-05-02&to=2024-05-01", {"to"}),
        ("from=2024-05-01&to=2024-05-01", {"to"}),
        ("from=2024-01-01&to=2024-04-04", {"to"}),  # 94 days
        (f"{WINDOW}&channel=fax", {"channel"}),
        (f"{WINDOW}&trafficAccountId=nope", {"trafficAccountId"}),
        ("to=x&channel=fax&trafficAccountId=nope", {"from", "to", "channel", "trafficAccountId"}),
    ],
)
def test_invalid_queries_are_400_problems_with_paths(auth_client, query, paths):
    response = auth_client.get(f"/api/v1/statistics?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert {e["path"] for e in response.json()["errors"]} == paths


def test_93_days_is_the_default_limit_and_a_setting_changes_it(auth_client, settings):
    ninety_three = auth_client.get("/api/v1/statistics?from=2024-01-01&to=2024-04-03")
    settings.STATISTICS_MAX_RANGE_DAYS = 7
    eight = auth_client.get("/api/v1/statistics?from=2024-01-01&to=2024-01-09")

    assert ninety_three.status_code == 200
    assert eight.status_code == 400


def test_anonymous_is_401(api_client):
    assert api_client.get(f"/api/v1/statistics?{WINDOW}").status_code == 401


def test_the_counts_are_one_query(django_assert_num_queries, sms, whatsapp):
    during = FROM + timedelta(days=1)
    for account in (sms, whatsapp):
        for status in (Status.SENT, Status.DELIVERED, Status.FAILED):
            _message(account, status, during)

    with django_assert_num_queries(1):
        statistics = message_statistics(customer=sms.customer, created_from=FROM, created_to=TO)

    assert len(statistics.rows) == 6
    assert statistics.totals == {"Sent": 2, "Delivered": 2, "Failed": 2}


def test_delivery_status_filters_statistics_case_insensitively(auth_client, sms):
    _message(sms, Status.DELIVERED, FROM)
    _message(sms, Status.FAILED, FROM)

    body = auth_client.get(f"/api/v1/statistics?{WINDOW}&deliveryStatus=failed").json()
    unknown = auth_client.get(f"/api/v1/statistics?{WINDOW}&deliveryStatus=nope")

    assert body["totals"] == {"Failed": 1}
    assert unknown.status_code == 400
    assert [e["path"] for e in unknown.json()["errors"]] == ["deliveryStatus"]
