"""The per-process answer to "does this account have a webhook for this trigger?": status changes
of accounts without webhooks skip the subscription query, and every committed subscription
change, in this process or another, is seen by the next event."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.models import Message
from channels_app.services.transitions import message_transition
from channels_app.status import Status
from gateway.redis import get_redis
from tests.channels_app.callbacks.helpers import sent_message
from tests.factories import TrafficAccountFactory
from webhooks_app.models import Webhook, WebhookDelivery, WebhookTrafficAccount
from webhooks_app.services.subscription_cache import GENERATION_KEY
from webhooks_app.services.subscriptions import webhook_apply, webhook_create, webhook_unapply, webhook_update

pytestmark = pytest.mark.django_db

URL = "https://93.184.215.14/hook"
WEBHOOK_TABLE = Webhook._meta.db_table


@pytest.fixture
def account():
    return TrafficAccountFactory(channel="sms")


def _message(account) -> Message:
    return sent_message(account, destination="+41751231234", provider_message_id=uuid.uuid4().hex)


def _deliver(account) -> tuple[Message, list[str]]:
    """A new message of the account reported Delivered, and the statements that took."""
    message = _message(account)
    with CaptureQueriesContext(connection) as queries:
        assert message_transition(message=message, status=Status.DELIVERED, source="provider")
    return message, [query["sql"] for query in queries.captured_queries]


def _asked_for_webhooks(statements: list[str]) -> bool:
    return any(WEBHOOK_TABLE in sql for sql in statements)


def _deliveries(message: Message) -> int:
    return WebhookDelivery.objects.filter(message_id=message.id).count()


def test_an_account_without_webhooks_is_asked_about_them_once(account):
    first, first_statements = _deliver(account)
    second, second_statements = _deliver(account)

    assert _asked_for_webhooks(first_statements)
    assert not _asked_for_webhooks(second_statements)
    assert _deliveries(first) == _deliveries(second) == 0


def test_applying_a_webhook_is_seen_by_the_next_event_once_committed(account, django_capture_on_commit_callbacks):
    _deliver(account)  # the account is known to have no webhooks

    with django_capture_on_commit_callbacks(execute=True):
        webhook = webhook_create(customer=account.customer, name="hook", url=URL, triggers=["Delivered"])
        webhook_apply(customer=account.customer, webhook_id=webhook.id, traffic_account_id=account.id)
    message, _ = _deliver(account)

    assert WebhookDelivery.objects.get(message_id=message.id).webhook_id == webhook.id


@pytest.mark.parametrize(
    ("created_with", "changed_to"),
    [
        ({"triggers": ["Failed"]}, {"triggers": ["Failed", "Delivered"]}),
        ({"triggers": ["Delivered"], "is_active": False}, {"is_active": True}),
    ],
    ids=["trigger-added", "reactivated"],
)
def test_a_changed_webhook_is_seen_by_the_next_event_once_committed(
    account, created_with, changed_to, django_capture_on_commit_callbacks
):
    webhook = webhook_create(customer=account.customer, name="hook", url=URL, **created_with)
    WebhookTrafficAccount.objects.create(webhook=webhook, traffic_account=account)
    before, _ = _deliver(account)

    with django_capture_on_commit_callbacks(execute=True):
        webhook_update(webhook=webhook, **changed_to)
    after, _ = _deliver(account)

    assert (_deliveries(before), _deliveries(after)) == (0, 1)


def test_unapplying_a_webhook_stops_its_events_and_the_query(account, django_capture_on_commit_callbacks):
    webhook = webhook_create(customer=account.customer, name="hook", url=URL, triggers=["Delivered"])
    webhook_apply(customer=account.customer, webhook_id=webhook.id, traffic_account_id=account.id)
    before, _ = _deliver(account)

    with django_capture_on_commit_callbacks(execute=True):
        webhook_unapply(customer=account.customer, webhook_id=webhook.id, traffic_account_id=account.id)
    _deliver(account)  # reloads: nothing applied any more
    after, statements = _deliver(account)

    assert (_deliveries(before), _deliveries(after)) == (1, 0)
    assert not _asked_for_webhooks(statements)


def test_a_webhook_deleted_while_known_gets_no_delivery(account):
    webhook = webhook_create(customer=account.customer, name="hook", url=URL, triggers=["Delivered"])
    WebhookTrafficAccount.objects.create(webhook=webhook, traffic_account=account)
    _deliver(account)  # the account is known to have a Delivered webhook

    Webhook.objects.filter(id=webhook.id).delete()  # its commit would publish; not yet run here
    message, _ = _deliver(account)

    assert _deliveries(message) == 0  # a known subscriber is always confirmed by the query


def test_a_change_another_process_published_is_seen(account):
    _deliver(account)
    webhook = webhook_create(customer=account.customer, name="hook", url=URL, triggers=["Delivered"])
    # Rows written elsewhere: no signal reaches this process, only the new generation does.
    WebhookTrafficAccount.objects.bulk_create([WebhookTrafficAccount(webhook=webhook, traffic_account=account)])
    unpublished, _ = _deliver(account)

    get_redis().set(GENERATION_KEY, uuid.uuid4().hex)
    published, _ = _deliver(account)

    assert (_deliveries(unpublished), _deliveries(published)) == (0, 1)


def test_entries_expire_for_changes_that_bypass_signals(account, settings):
    settings.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = 0
    _deliver(account)
    webhook = webhook_create(customer=account.customer, name="hook", url=URL, triggers=["Delivered"])
    WebhookTrafficAccount.objects.bulk_create([WebhookTrafficAccount(webhook=webhook, traffic_account=account)])

    message, _ = _deliver(account)

    assert _deliveries(message) == 1
