"""A Mitto DLR is committed in the report inbox before the provider gets its 200, and one
published drain covers many reports; beat's sweep drains what a lost publish left behind."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import connection
from django.test import Client

from channels_app.callbacks.tokens import issue_callback_token
from channels_app.models import Message, ReportInbox
from channels_app.services.report_drain import DRAIN_LOCK_KEY, reports_drain
from channels_app.services.report_inbox import DRAIN_REQUESTED_KEY
from channels_app.status import Status
from channels_app.tasks import drain_reports
from gateway.redis import get_redis
from tests.channels_app.callbacks.helpers import fixture_bytes, fixture_json, sent_message, statuses
from tests.factories import TrafficAccountFactory

DLR_URL = "/callbacks/sms/dlr"
MITTO_ID = fixture_json("mitto_sms", "dlr_delivered")["messageId"]
HOUSEKEEPING_QUEUE = "housekeeping"


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.MITTO_DLR_SIGNING_KEYS = ["test-dlr-key-0123456789abcdef0123456789abcdef"]


@pytest.fixture(autouse=True)
def _no_drain_requested():
    """Each test starts with no drain requested and no drain task waiting in the broker."""
    get_redis().delete(DRAIN_REQUESTED_KEY, HOUSEKEEPING_QUEUE)
    yield
    get_redis().delete(DRAIN_REQUESTED_KEY, HOUSEKEEPING_QUEUE)


def _published_drains() -> int:
    tasks = [json.loads(raw)["headers"]["task"] for raw in get_redis().lrange(HOUSEKEEPING_QUEUE, 0, -1)]
    return tasks.count("channels.drain_reports")


def _sent() -> Message:
    return sent_message(TrafficAccountFactory(channel="sms"), destination="+41751231234", provider_message_id=MITTO_ID)


def _post(client: Client, message: Message):
    token = issue_callback_token(subject=str(message.id), purpose="dlr")
    return client.post(
        f"{DLR_URL}?token={token}", data=fixture_bytes("mitto_sms", "dlr_delivered"), content_type="application/json"
    )


@pytest.mark.django_db(transaction=True)
def test_the_report_is_committed_before_the_200():
    message = _sent()

    response = _post(Client(), message)

    assert response.status_code == 200
    # Another connection sees the stored report at once: it was committed before the answer.
    settings_dict = connection.settings_dict
    with psycopg.connect(
        dbname=settings_dict["NAME"], user=settings_dict["USER"], password=settings_dict["PASSWORD"],
        host=settings_dict["HOST"], port=settings_dict["PORT"],
    ) as other:
        stored = other.execute(
            f"SELECT status, provider_message_id, traffic_account_id FROM {ReportInbox._meta.db_table}"  # noqa: S608
            " WHERE message_id = %s",
            [message.id],
        ).fetchall()
    assert stored == [(Status.DELIVERED, MITTO_ID, message.traffic_account_id)]
    message.refresh_from_db()
    assert message.status == Status.SENT  # applied later, by the drain


@pytest.fixture
def inbox_refusing_inserts(transactional_db):
    """The database refuses every insert into the inbox, as a full disk or a lost primary would."""
    table = ReportInbox._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_report() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'inbox unavailable'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_report BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_report()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER refuse_report ON {table}")
        cursor.execute("DROP FUNCTION refuse_report()")


def test_a_report_that_cannot_be_stored_is_a_server_error_and_changes_nothing(inbox_refusing_inserts):
    message = _sent()

    response = _post(Client(raise_request_exception=False), message)

    assert response.status_code >= 500  # not acknowledged: the provider sends the report again
    reports_drain()
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert statuses(message) == []


@pytest.mark.django_db
def test_a_revoked_token_stores_nothing():
    account = TrafficAccountFactory(channel="sms", callback_token_generation=1)
    message = sent_message(account, destination="+41751231234", provider_message_id=MITTO_ID)

    response = _post(Client(), message)  # issued under generation 0

    assert response.status_code == 401
    assert not ReportInbox.objects.exists()


@pytest.mark.django_db
def test_one_published_drain_covers_the_reports_that_follow_it(client):
    account = TrafficAccountFactory(channel="sms")
    messages = [sent_message(account, destination=f"+4175123123{n}", provider_message_id=MITTO_ID) for n in range(3)]

    for message in messages:
        assert _post(client, message).status_code == 200

    assert _published_drains() == 1
    assert ReportInbox.objects.count() == 3
    # The drain clears the request first, so a report stored while or after it runs asks again.
    reports_drain()
    assert [m.status for m in Message.objects.filter(id__in=[m.id for m in messages])] == [Status.DELIVERED] * 3
    another = sent_message(account, destination="+41751231239", provider_message_id=MITTO_ID)
    assert _post(client, another).status_code == 200
    assert _published_drains() == 2


@pytest.mark.django_db
def test_a_report_whose_drain_was_never_published_is_applied_by_the_sweep(client):
    # A web process set the request and died before publishing: no report publishes again
    # until the request expires, so only beat's sweep (the same task) can apply this one.
    get_redis().set(DRAIN_REQUESTED_KEY, b"1", px=60_000)
    message = _sent()

    assert _post(client, message).status_code == 200
    assert _published_drains() == 0
    message.refresh_from_db()
    assert message.status == Status.SENT

    drain_reports()  # what beat runs every REPORT_DRAIN_SWEEP_SECONDS

    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert not ReportInbox.objects.exists()


@pytest.mark.django_db
def test_one_drain_runs_at_a_time_and_the_others_return_at_once(client):
    message = _sent()
    assert _post(client, message).status_code == 200
    running = get_redis().lock(DRAIN_LOCK_KEY, timeout=60)
    assert running.acquire(blocking=False)
    try:
        drain_reports()  # another drain holds the lock: this one leaves the report to it

        message.refresh_from_db()
        assert message.status == Status.SENT
    finally:
        running.release()

    drain_reports()

    message.refresh_from_db()
    assert message.status == Status.DELIVERED
