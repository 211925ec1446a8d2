"""Per-process copies of customers and traffic accounts: fewer queries, bounded staleness."""

from __future__ import annotations

import time

import pytest

from accounts_app.cache import customer_for_token, traffic_accounts_of
from accounts_app.models import Customer, TrafficAccount
from accounts_app.tokens import token_issue
from tests.factories import DEFAULT_PASSWORD, TrafficAccountFactory

pytestmark = pytest.mark.django_db

CHANGE = "/api/v1/Customers/changePassword"


def test_the_second_request_reads_no_customer_row(customer, django_assert_num_queries):
    customer_for_token(customer.id, customer.token_version)

    with django_assert_num_queries(0):
        cached = customer_for_token(customer.id, customer.token_version)

    assert cached.id == customer.id


def test_callers_get_copies_so_one_request_cannot_change_another(customer):
    first = customer_for_token(customer.id, customer.token_version)
    first.name = "changed by one request"

    assert customer_for_token(customer.id, customer.token_version).name == customer.name


def test_a_token_newer_than_the_copy_reads_the_database(customer):
    customer_for_token(customer.id, customer.token_version)
    # Another process changed the password: this one only sees the newer token.
    Customer.objects.filter(id=customer.id).update(token_version=customer.token_version + 1)

    fresh = customer_for_token(customer.id, customer.token_version + 1)

    assert fresh.token_version == customer.token_version + 1


def test_a_password_change_revokes_old_tokens_at_once(client_for, customer):
    client = client_for(customer)
    assert client.post(CHANGE, {}, format="json").status_code == 400  # authenticated, copy cached

    changed = client.post(
        CHANGE, {"currentPassword": DEFAULT_PASSWORD, "newPassword": "an-entirely-new-pass"}, format="json"
    )

    assert changed.status_code == 204
    assert client.post(CHANGE, {}, format="json").status_code == 401


def test_a_deactivation_saved_in_this_process_takes_effect_at_once(customer):
    customer_for_token(customer.id, customer.token_version)
    customer.is_active = False
    customer.save()

    assert customer_for_token(customer.id, customer.token_version) is None


def test_a_change_made_by_another_process_is_seen_within_the_ttl(customer, settings):
    settings.ACCOUNT_CACHE_SECONDS = 0.2
    customer_for_token(customer.id, customer.token_version)
    Customer.objects.filter(id=customer.id).update(is_active=False)  # no signal reaches this process

    assert customer_for_token(customer.id, customer.token_version) is not None  # the documented staleness
    time.sleep(0.3)
    assert customer_for_token(customer.id, customer.token_version) is None


def test_zero_seconds_turns_the_cache_off(customer, settings, django_assert_num_queries):
    settings.ACCOUNT_CACHE_SECONDS = 0
    customer_for_token(customer.id, customer.token_version)

    with django_assert_num_queries(1):
        customer_for_token(customer.id, customer.token_version)


def test_traffic_accounts_are_read_once_and_scoped_to_their_customer(customer, django_assert_num_queries):
    own = TrafficAccountFactory(customer=customer)
    foreign = TrafficAccountFactory()
    assert set(traffic_accounts_of(customer.id, [own.id, foreign.id])) == {own.id}

    with django_assert_num_queries(1):  # the foreign id is looked up again, never cached as absent
        again = traffic_accounts_of(customer.id, [own.id, foreign.id])

    assert set(again) == {own.id}
    with django_assert_num_queries(0):
        traffic_accounts_of(customer.id, [own.id])


def test_an_account_created_after_a_miss_is_found_at_once(customer):
    assert traffic_accounts_of(customer.id, [TrafficAccountFactory.build().id]) == {}
    account = TrafficAccountFactory(customer=customer)

    assert set(traffic_accounts_of(customer.id, [account.id])) == {account.id}


def test_a_saved_traffic_account_change_takes_effect_at_once(customer):
    account = TrafficAccountFactory(customer=customer)
    traffic_accounts_of(customer.id, [account.id])
    account.is_active = False
    account.save()

    assert traffic_accounts_of(customer.id, [account.id])[account.id].is_active is False
    assert TrafficAccount.objects.get(id=account.id).is_active is False


def test_a_login_token_works_with_a_warm_cache(api_client, customer):
    client_token = token_issue(customer=customer).token
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {client_token}")

    assert api_client.post(CHANGE, {}, format="json").status_code == 400
    assert api_client.post(CHANGE, {}, format="json").status_code == 400
