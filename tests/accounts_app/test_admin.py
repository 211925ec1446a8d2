"""The operator admin loads, and traffic-account credentials are write-only there."""

from __future__ import annotations

import pytest

from accounts_app.models import TrafficAccount
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/accounts_app/customer/",
        "/admin/accounts_app/customer/add/",
        "/admin/accounts_app/trafficaccount/",
        "/admin/accounts_app/trafficaccount/add/",
        "/admin/channels_app/message/",
        "/admin/channels_app/whatsapptemplate/",
        "/admin/webhooks_app/webhook/",
    ],
)
def test_admin_pages_load(operator_client, url):
    assert operator_client.get(url).status_code == 200


def test_credentials_are_never_rendered(operator_client):
    account = TrafficAccountFactory(channel="telegram", credentials={"bot_token": "123:super-secret-token"})

    page = operator_client.get(f"/admin/accounts_app/trafficaccount/{account.id}/change/").content.decode()
    listing = operator_client.get("/admin/accounts_app/trafficaccount/").content.decode()

    assert "super-secret-token" not in page
    assert "super-secret-token" not in listing
    assert "bot_token=••••" in page


def _form_data(account: TrafficAccount, **overrides) -> dict:
    data = {
        "customer": str(account.customer_id),
        "name": account.name,
        "channel": account.channel,
        "is_active": "on",
        "sender": account.sender,
        "display_name": account.display_name,
        "phone_number": "",
        "base_url": account.base_url,
        "throughput_per_second": "",
        "viber_kind": account.viber_kind,
    }
    data.update(overrides)
    return data


def test_blank_credential_inputs_keep_stored_values(operator_client):
    account = TrafficAccountFactory(channel="telegram", credentials={"bot_token": "keep-me", "secret_token": "s1"})

    response = operator_client.post(
        f"/admin/accounts_app/trafficaccount/{account.id}/change/",
        _form_data(account, credential_secret_token="s2"),
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.credentials == {"bot_token": "keep-me", "secret_token": "s2"}


def test_credentials_of_another_channel_are_refused(operator_client):
    account = TrafficAccountFactory(channel="sms", credentials={"api_key": "k"})

    response = operator_client.post(
        f"/admin/accounts_app/trafficaccount/{account.id}/change/",
        _form_data(account, credential_bot_token="nope"),
    )

    assert response.status_code == 200  # the form comes back with the error
    assert "do not belong to a sms account" in response.content.decode()
    account.refresh_from_db()
    assert account.credentials == {"api_key": "k"}
