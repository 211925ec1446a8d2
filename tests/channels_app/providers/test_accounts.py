"""A traffic account's base URL decides where its credentials go: only the provider's own host or
an operator-allowed one."""

from __future__ import annotations

import pytest
import responses
from django.core.management import CommandError, call_command

from accounts_app.models import Customer, TrafficAccount
from channels_app.providers.accounts import provider_account
from channels_app.providers.base import ProviderConfigError
from tests.factories import CustomerFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db


def test_the_command_refuses_an_unknown_host():
    customer = CustomerFactory()

    with pytest.raises(CommandError, match="not a known telegram provider host"):
        call_command("create_traffic_account", "--customer", customer.email, "--channel", "telegram",
                     "--name", "bot", "--credential", "bot_token=1:x", "--base-url", "https://collector.example")

    assert not TrafficAccount.objects.filter(customer=customer).exists()


def test_the_providers_own_host_and_operator_allowed_hosts_pass(settings):
    settings.PROVIDER_ALLOWED_BASE_URLS = ["https://eu.regional-mitto.example:8443"]
    customer = CustomerFactory()

    for url in ("https://api.telegram.org", "https://API.telegram.org/"):
        TrafficAccount(customer=customer, name="a", channel="telegram", base_url=url).full_clean()
    TrafficAccount(customer=customer, name="b", channel="sms", base_url="https://eu.regional-mitto.example:8443/v1"
                   ).full_clean()
    with pytest.raises(Exception, match="not a known sms provider host"):
        TrafficAccount(customer=customer, name="c", channel="sms", base_url="https://eu.regional-mitto.example:9000"
                       ).full_clean()
    with pytest.raises(Exception, match="not a known sms provider host"):
        TrafficAccount(customer=customer, name="d", channel="sms", base_url="http://eu.regional-mitto.example:8443"
                       ).full_clean()


def test_a_staff_edit_in_the_admin_cannot_point_credentials_elsewhere(client):
    client.force_login(Customer.objects.create_superuser("ops@example.com", "operator-passphrase"))
    account = TrafficAccountFactory(channel="telegram", base_url="", credentials={"bot_token": "1:secret"})
    form = {
        "customer": str(account.customer_id), "name": account.name, "channel": "telegram", "is_active": "on",
        "base_url": "https://collector.example",
    }

    page = client.post(f"/admin/accounts_app/trafficaccount/{account.id}/change/", form)

    assert page.status_code == 200 and b"not a known telegram provider host" in page.content
    assert TrafficAccount.objects.get(id=account.id).base_url == ""


@responses.activate
def test_an_account_edited_behind_the_forms_back_sends_nothing(settings):
    account = TrafficAccountFactory(channel="telegram", credentials={"bot_token": "1:secret"})
    TrafficAccount.objects.filter(id=account.id).update(base_url="https://collector.example")

    with pytest.raises(ProviderConfigError, match="not a known telegram provider host"):
        provider_account(TrafficAccount.objects.get(id=account.id))
    assert len(responses.calls) == 0
