"""Reports on /smsbulk sends: one account-wide URL token, the report's messageId picks the
message among that account's messages only; early reports are retried, revoked tokens refused."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from channels_app.callbacks.tokens import issue_callback_token
from channels_app.models import Message, ReportInbox
from channels_app.services.report_drain import reports_drain
from channels_app.status import Status
from tests.channels_app.callbacks.helpers import sent_message, statuses
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

DLR_KEY = "test-dlr-key-0123456789abcdef0123456789abcdef"
BULK_URL = "/callbacks/sms/dlr-bulk"
BULK_ID = "b47e7d4a-39d1-4e6c-a495-001501b3e626"


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.MITTO_DLR_SIGNING_KEYS = [DLR_KEY]
    settings.CALLBACK_TOKEN_LIFETIME_SECONDS = 600


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="sms")


def bulk_token(account, generation: int = 0) -> str:
    return issue_callback_token(subject=str(account.id), purpose="dlr_bulk", generation=generation)


def post_report(token: str, provider_id: str = BULK_ID, status: str = "Delivered", path: str = BULK_URL):
    body = json.dumps({"messageId": provider_id, "status": status, "errorcode": "0"})
    return Client().post(f"{path}?token={token}", data=body, content_type="application/json")


def test_a_report_delivers_the_account_message_with_that_provider_id(account):
    message = sent_message(account, destination="+491765410994", provider_message_id=BULK_ID)
    other_id = "c58f8e5b-40e2-4f7d-b5a6-112612c4f737"
    other = sent_message(account, destination="+491765410995", provider_message_id=other_id)

    response = post_report(bulk_token(account))

    assert response.status_code == 200
    reports_drain()  # stored before the 200, applied by the drain
    message.refresh_from_db()
    other.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert other.status == Status.SENT


def test_the_id_without_dashes_finds_the_stored_dashed_id(account):
    message = sent_message(account, destination="+491765410994", provider_message_id=BULK_ID)

    response = post_report(bulk_token(account), provider_id=BULK_ID.replace("-", "").upper())

    assert response.status_code == 200
    reports_drain()  # stored before the 200, applied by the drain
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert message.provider_message_id == BULK_ID


def test_a_report_that_overtakes_the_recorded_ids_is_retried_then_applied(account):
    # given the call's messages still Sending: the answer with the ids is not recorded yet
    message = sent_message(account, destination="+491765410994", status=Status.SENDING)

    early = post_report(bulk_token(account))

    assert early.status_code == 409
    assert early["Retry-After"]
    message.refresh_from_db()
    assert message.status == Status.SENDING

    # when dispatch has recorded the answer, Mitto's retry of the same report applies
    Message.objects.filter(id=message.id).update(status=Status.SENT, provider_message_id=BULK_ID)
    again = post_report(bulk_token(account))

    assert again.status_code == 200
    reports_drain()  # stored before the 200, applied by the drain
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert statuses(message)[-1] == Status.DELIVERED


def test_a_token_of_another_account_never_reaches_this_account_messages(account):
    message = sent_message(account, destination="+491765410994", provider_message_id=BULK_ID)
    stranger = TrafficAccountFactory(channel="sms")

    response = post_report(bulk_token(stranger))

    assert response.status_code == 200  # acknowledged: nothing of the stranger's is in flight
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_a_revoked_generation_is_refused(account):
    message = sent_message(account, destination="+491765410994", provider_message_id=BULK_ID)
    old = bulk_token(account, generation=0)
    account.callback_token_generation = 1
    account.save(update_fields=["callback_token_generation"])

    assert post_report(old).status_code == 401
    assert post_report(bulk_token(account, generation=1)).status_code == 200
    reports_drain()  # stored before the 200, applied by the drain
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_per_message_and_bulk_tokens_do_not_pass_for_each_other(account):
    message = sent_message(account, destination="+491765410994", provider_message_id=BULK_ID)
    per_message = issue_callback_token(subject=str(message.id), purpose="dlr")

    assert post_report(per_message).status_code == 401
    assert post_report(bulk_token(account), path="/callbacks/sms/dlr").status_code == 401
    assert post_report("not-a-token").status_code == 401
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_a_bulk_report_is_in_the_inbox_when_acknowledged_and_applied_by_the_drain(account):
    message = sent_message(account, destination="+491765410994", provider_message_id=BULK_ID)

    response = post_report(bulk_token(account), provider_id=BULK_ID.replace("-", ""))

    assert response.status_code == 200
    stored = ReportInbox.objects.get(message_id=message.id)
    assert (stored.status, stored.provider_message_id) == (Status.DELIVERED, BULK_ID)  # the stored spelling
    message.refresh_from_db()
    assert message.status == Status.SENT  # not yet applied
    reports_drain()
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert not ReportInbox.objects.filter(message_id=message.id).exists()
