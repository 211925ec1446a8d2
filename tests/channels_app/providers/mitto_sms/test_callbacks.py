"""Mitto SMS callbacks: delivery reports and two-way SMS, authenticated only by our URL tokens."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from channels_app.callbacks.tokens import issue_callback_token
from channels_app.models import Conversation, Message, MessageEvent
from channels_app.services.report_drain import reports_drain
from channels_app.signals import inbound_message_received
from channels_app.status import Status
from tests.channels_app.callbacks.helpers import (
    fixture_bytes,
    fixture_json,
    row_counts,
    sent_message,
    statuses,
)
from tests.factories import TrafficAccountFactory
from webhooks_app.models import WebhookDelivery

pytestmark = pytest.mark.django_db

DLR_KEY = "test-dlr-key-0123456789abcdef0123456789abcdef"
OLD_DLR_KEY = "test-old-dlr-key-0123456789abcdef0123456789ab"
INBOUND_KEY = "test-inbound-key-0123456789abcdef0123456789a"
MITTO_ID = fixture_json("mitto_sms", "dlr_delivered")["messageId"]
DLR_URL = "/callbacks/sms/dlr"
INBOUND_URL = "/callbacks/sms/inbound"


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.MITTO_DLR_SIGNING_KEYS = [DLR_KEY]
    settings.MITTO_INBOUND_SIGNING_KEYS = [INBOUND_KEY]
    settings.CALLBACK_TOKEN_LIFETIME_SECONDS = 600


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="sms")


@pytest.fixture
def message(account):
    return sent_message(account, destination="+41751231234", provider_message_id=MITTO_ID)


def dlr_token(message: Message) -> str:
    return issue_callback_token(subject=str(message.id), purpose="dlr")


def post_dlr(client: Client, token: str, fixture: str = "dlr_delivered", body: bytes | None = None):
    return client.post(
        f"{DLR_URL}?token={token}",
        data=body if body is not None else fixture_bytes("mitto_sms", fixture),
        content_type="application/json",
    )


def post_dlr_and_drain(client: Client, token: str, fixture: str = "dlr_delivered", body: bytes | None = None):
    """Post a DLR, then run the drain that applies stored reports (a Celery task in production)."""
    response = post_dlr(client, token, fixture, body)
    reports_drain()
    return response


def _signed_with(key: str, *, subject: str, purpose: str, lifetime: int = 600) -> str:
    now = int(time.time())
    claims = {"sub": subject, "pur": purpose, "iat": now, "nbf": now, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm="HS256")


# ---- delivery reports ----------------------------------------------------------------------


def test_a_genuine_dlr_delivers_the_message_of_its_token(client, message):
    response = post_dlr_and_drain(client, dlr_token(message))

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert message.delivered_at is not None
    event = MessageEvent.objects.get(message=message, status=Status.DELIVERED)
    assert event.source == "provider"
    assert event.detail["raw"]["status"] == "DELIVRD"


def test_a_dlr_is_stored_in_one_statement_and_applied_by_the_drain_in_a_fixed_number(client, account, message):
    post_dlr_and_drain(client, dlr_token(sent_message(account, destination="+41751231235")))  # learns: no webhooks

    with CaptureQueriesContext(connection) as web:
        response = post_dlr(client, dlr_token(message))
    assert response.status_code == 200
    statements = [q["sql"] for q in web.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1, statements
    assert statements[0].startswith("INSERT INTO") and "JOIN" in statements[0]  # stored if the message is ours
    assert statuses(message) == []  # not applied yet: the drain does that

    with CaptureQueriesContext(connection) as drain:
        reports_drain()
    statements = [q["sql"] for q in drain.captured_queries if "SAVEPOINT" not in q["sql"]]
    # claim, load the messages, move them, their events, delete the applied reports; the next
    # claim finds the inbox empty
    assert len(statements) == 5, statements
    assert statuses(message) == [Status.DELIVERED]


def test_a_dlr_by_get_query_is_accepted_too(client, message):
    response = client.get(DLR_URL, {"token": dlr_token(message), "messageId": MITTO_ID, "status": "DELIVRD"})
    reports_drain()

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_an_undelivered_dlr_fails_the_message_with_its_error_code(client, message):
    response = post_dlr_and_drain(client, dlr_token(message), "dlr_undelivered")

    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_text) == (Status.FAILED, "034", "UNDELIV")


def test_a_duplicate_dlr_records_one_event(client, message):
    token = dlr_token(message)

    first = post_dlr_and_drain(client, token)
    second = post_dlr_and_drain(client, token)

    assert (first.status_code, second.status_code) == (200, 200)
    assert statuses(message) == [Status.DELIVERED]


def test_a_late_accepted_dlr_does_not_undo_delivery(client, message):
    token = dlr_token(message)

    post_dlr_and_drain(client, token, "dlr_delivered")
    response = post_dlr_and_drain(client, token, "dlr_accepted")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert statuses(message) == [Status.DELIVERED]


def test_a_dlr_that_overtakes_the_send_response_still_applies(client, account):
    # given: dispatch has claimed the message but not yet stored Mitto's id
    message = sent_message(account, destination="+41751231234", status=Status.SENDING)

    response = post_dlr_and_drain(client, dlr_token(message))

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda m: _signed_with("not-our-key-0123456789abcdef0123", subject=str(m.id), purpose="dlr"),
                     id="forged"),
        pytest.param(lambda m: _signed_with(DLR_KEY, subject=str(m.id), purpose="dlr", lifetime=-10), id="expired"),
        pytest.param(lambda m: _signed_with(DLR_KEY, subject=str(m.id), purpose="inbound"), id="other-purpose"),
        pytest.param(lambda m: issue_callback_token(subject=str(m.id), purpose="dlr") + "x", id="truncated-sig"),
        pytest.param(lambda m: "", id="missing"),
    ],
)
def test_a_dlr_without_a_genuine_token_is_refused_before_any_query(
    client, message, token, django_assert_num_queries
):
    before = row_counts()
    bad_token = token(message)

    with django_assert_num_queries(0):
        response = post_dlr(client, bad_token)

    assert response.status_code == 401
    assert row_counts() == before
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_a_report_naming_another_provider_id_applies_to_its_token_and_records_the_mismatch(client, message):
    # An earlier attempt that timed out may have gone out after all and reports its own id.
    response = post_dlr_and_drain(client, dlr_token(message), "dlr_other_message")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert message.provider_message_id == MITTO_ID
    event = MessageEvent.objects.get(message=message, status=Status.DELIVERED)
    assert event.detail["providerMessageIdMismatch"] == {
        "reported": "9a41d0c2b7e84f1d8c3a5e6f7b8c9d0e", "stored": MITTO_ID,
    }


def test_a_report_spelling_the_id_with_dashes_matches_without_a_mismatch(client, account):
    # /sms answers ids without dashes, /smsbulk with them: either spelling is the same id.
    message = sent_message(account, destination="+41751231234", provider_message_id="b47e7d4a39d14e6ca495001501b3e626")
    body = b'{"messageId": "B47E7D4A-39D1-4E6C-A495-001501B3E626", "status": "delivered", "errorcode": ""}'

    response = post_dlr_and_drain(client, dlr_token(message), body=body)

    assert response.status_code == 200
    event = MessageEvent.objects.get(message=message, status=Status.DELIVERED)
    assert event.detail["providerMessageId"] == "b47e7d4a39d14e6ca495001501b3e626"
    assert "providerMessageIdMismatch" not in event.detail


@pytest.mark.parametrize(
    ("word", "status"),
    [("DELIVRD", Status.DELIVERED), ("Delivered", Status.DELIVERED), ("undeliv", Status.FAILED),
     ("Expired", Status.FAILED), ("REJECTD", Status.FAILED), ("failed", Status.FAILED)],
)
def test_mitto_words_and_smpp_states_are_read_in_any_case(client, message, word, status):
    body = f'{{"messageId": "{MITTO_ID}", "status": "{word}", "errorcode": "0"}}'.encode()

    assert post_dlr_and_drain(client, dlr_token(message), body=body).status_code == 200

    message.refresh_from_db()
    assert message.status == status


def test_price_and_network_of_the_report_template_are_kept_and_sent_to_webhooks(auth_client, client, account):
    account.customer = auth_client.customer
    account.save()
    webhook = auth_client.post(
        "/api/v1/Webhook", {"name": "CRM", "url": "https://93.184.215.14/hooks/chat", "triggers": ["Delivered"]},
        format="json",
    ).json()
    applied = auth_client.post(
        "/api/v1/WebhookTrafficAccount/ApplyWebhookForTrafficAccount",
        {"webhookId": webhook["id"], "trafficAccountId": str(account.id)}, format="json",
    )
    assert applied.status_code == 201
    message = sent_message(account, destination="+41751231234", provider_message_id=MITTO_ID)
    body = f'{{"messageId": "{MITTO_ID}", "status": "DELIVRD", "errorcode": "000", "MccMnc": "26201", "Price": "6.00"}}'

    response = post_dlr_and_drain(client, dlr_token(message), body=body.encode())

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.billing == {"price": "6.00", "network": "26201"}
    lookup = auth_client.get(f"/api/v1/Message/{message.id}").json()
    assert lookup["billing"] == {"price": "6.00", "network": "26201"}
    delivery = WebhookDelivery.objects.get(message_id=message.id)
    assert delivery.payload["billing"] == {"price": "6.00", "network": "26201"}


def test_key_rotation_keeps_old_tokens_valid_only_while_the_old_key_is_listed(client, settings, message):
    settings.MITTO_DLR_SIGNING_KEYS = [OLD_DLR_KEY]
    old_token = dlr_token(message)

    settings.MITTO_DLR_SIGNING_KEYS = [DLR_KEY]
    assert post_dlr_and_drain(client, old_token).status_code == 401
    assert statuses(message) == []

    settings.MITTO_DLR_SIGNING_KEYS = [DLR_KEY, OLD_DLR_KEY]
    assert post_dlr_and_drain(client, old_token).status_code == 200
    assert statuses(message) == [Status.DELIVERED]


def test_a_token_for_a_message_that_no_longer_exists_is_not_found(client, message):
    token = dlr_token(message)
    message.delete()

    assert post_dlr(client, token).status_code == 404


def test_a_dlr_for_a_message_sent_before_its_account_was_deactivated_is_recorded(client, account, message):
    account.is_active = False
    account.save()

    response = post_dlr_and_drain(client, dlr_token(message))

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_a_malformed_dlr_with_a_genuine_token_is_a_bad_request(client, message):
    before = row_counts()

    response = post_dlr(client, dlr_token(message), body=b'{"messageId": "715118ef", "status": ')

    assert response.status_code == 400
    assert row_counts() == before


def test_the_endpoint_needs_no_csrf_token(message):
    client = Client(enforce_csrf_checks=True)

    assert post_dlr(client, dlr_token(message)).status_code == 200


# ---- two-way SMS ------------------------------------------------------------------------


def inbound_token(account) -> str:
    return issue_callback_token(subject=str(account.id), purpose="inbound")


def post_inbound(client: Client, token: str, body: bytes | None = None):
    return client.post(
        f"{INBOUND_URL}?token={token}",
        data=body if body is not None else fixture_bytes("mitto_sms", "inbound"),
        content_type="application/json",
    )


def test_an_inbound_sms_joins_a_new_conversation_once(client, account):
    received = []

    def listener(sender, message, **kwargs):
        received.append(message.id)

    inbound_message_received.connect(listener)
    try:
        first = post_inbound(client, inbound_token(account))
        counts_after_first = row_counts()
        again = post_inbound(client, inbound_token(account))
    finally:
        inbound_message_received.disconnect(listener)

    assert (first.status_code, again.status_code) == (200, 200)
    assert row_counts() == counts_after_first
    message = Message.objects.get(traffic_account=account, direction=Message.INBOUND)
    assert received == [message.id]
    assert message.status == Status.RECEIVED
    assert message.destination == "+41791234567"
    assert message.content == {"type": "text", "text": "STOP promotions please"}
    assert message.provider_message_id == "b3e1f0d2-7c4a-4e59-9d1b-0a8f6c2e4d17"
    assert message.customer_id == account.customer_id
    assert statuses(message) == [Status.RECEIVED]
    conversation = Conversation.objects.get(traffic_account=account, user_identifier="+41791234567")
    assert message.conversation == conversation
    assert conversation.last_message_at is not None
    assert sorted(conversation.participants.values_list("role", "phone_number")) == [
        ("agent", ""),
        ("user", "+41791234567"),
    ]


def test_an_inbound_sms_by_get_query_is_stored(client, account):
    response = client.get(
        INBOUND_URL, {"token": inbound_token(account), "from": "41791234567", "text": "hello", "id": "mitto-in-1"}
    )

    assert response.status_code == 200
    assert Message.objects.get(traffic_account=account, provider_message_id="mitto-in-1").content["text"] == "hello"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda a: _signed_with("not-our-key-0123456789abcdef0123", subject=str(a.id), purpose="inbound"),
                     id="forged"),
        pytest.param(lambda a: _signed_with(INBOUND_KEY, subject=str(a.id), purpose="inbound", lifetime=-10),
                     id="expired"),
        pytest.param(lambda a: _signed_with(DLR_KEY, subject=str(a.id), purpose="dlr"), id="dlr-token"),
    ],
)
def test_an_inbound_sms_without_a_genuine_token_is_refused(client, account, token, django_assert_num_queries):
    before = row_counts()
    bad_token = token(account)

    with django_assert_num_queries(0):
        response = post_inbound(client, bad_token)

    assert response.status_code == 401
    assert row_counts() == before


def test_an_inbound_token_of_another_channels_account_is_not_found(client):
    whatsapp = TrafficAccountFactory(channel="whatsapp")
    before = row_counts()

    response = post_inbound(client, inbound_token(whatsapp))

    assert response.status_code == 404
    assert row_counts() == before


def test_an_inbound_sms_without_a_sender_is_a_bad_request(client, account):
    response = post_inbound(client, inbound_token(account), body=b'{"text": "who am I"}')

    assert response.status_code == 400
    assert not Message.objects.filter(traffic_account=account).exists()


# ---- the two-way URL for Mitto ----------------------------------------------------------------


def test_mitto_inbound_url_prints_a_working_long_lived_url(client, account, capsys):
    call_command("mitto_inbound_url", "--traffic-account", str(account.id), "--lifetime-days", "400")

    url = capsys.readouterr().out.strip()
    parts = urlsplit(url)
    assert parts.path == INBOUND_URL
    token = parse_qs(parts.query)["token"][0]
    claims = jwt.decode(token, INBOUND_KEY, algorithms=["HS256"])
    assert claims["sub"] == str(account.id)
    assert claims["exp"] - claims["iat"] == 400 * 24 * 3600
    response = client.post(f"{parts.path}?{parts.query}", fixture_bytes("mitto_sms", "inbound"),
                           content_type="application/json")
    assert response.status_code == 200
    assert Message.objects.filter(traffic_account=account, direction=Message.INBOUND).count() == 1


def test_mitto_inbound_url_refuses_other_channels():
    viber = TrafficAccountFactory(channel="viber")

    with pytest.raises(CommandError, match="SMS accounts only"):
        call_command("mitto_inbound_url", "--traffic-account", str(viber.id))


# ---- per-account revocation ---------------------------------------------------------------------


def test_revoking_an_accounts_callback_tokens_refuses_its_old_urls_only(client, account, capsys):
    other_account = TrafficAccountFactory(channel="sms")
    other_message = sent_message(other_account, destination="+41751231236", provider_message_id=MITTO_ID)
    message = sent_message(account, destination="+41751231234", provider_message_id=MITTO_ID)
    old_dlr = dlr_token(message)
    call_command("mitto_inbound_url", "--traffic-account", str(account.id))
    old_inbound = urlsplit(capsys.readouterr().out.strip())

    call_command("revoke_callback_tokens", "--traffic-account", str(account.id))
    capsys.readouterr()

    assert post_dlr_and_drain(client, old_dlr).status_code == 401
    assert client.post(f"{old_inbound.path}?{old_inbound.query}", fixture_bytes("mitto_sms", "inbound"),
                       content_type="application/json").status_code == 401
    message.refresh_from_db()
    assert message.status == Status.SENT
    # Another account's tokens are untouched, and new tokens of this account work.
    assert post_dlr_and_drain(client, dlr_token(other_message)).status_code == 200
    account.refresh_from_db()
    fresh = issue_callback_token(subject=str(message.id), purpose="dlr",
                                 generation=account.callback_token_generation)
    assert post_dlr_and_drain(client, fresh).status_code == 200


def test_tokens_are_short_lived_by_default(account, capsys):
    from gateway import settings as configured

    assert configured.CALLBACK_TOKEN_LIFETIME_SECONDS == 2 * 24 * 3600  # DLR URLs: two days
    call_command("mitto_inbound_url", "--traffic-account", str(account.id))
    token = parse_qs(urlsplit(capsys.readouterr().out.strip()).query)["token"][0]
    claims = jwt.decode(token, INBOUND_KEY, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 90 * 24 * 3600  # two-way SMS URLs: 90 days, then a new one
