"""What an operator works with in the admin: readable names, filters and search that find the
right rows, and the traffic-account action that syncs WhatsApp templates from Meta."""

from __future__ import annotations

import re

import pytest
import responses
from django.conf import settings
from django.contrib.messages import get_messages

from channels_app.models import WhatsAppTemplate
from channels_app.status import Status
from tests.factories import MessageFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

GRAPH_TEMPLATES = f"https://graph.test/{settings.WHATSAPP_GRAPH_VERSION}/waba-1/message_templates"


def _changelist_rows(html: str) -> int:
    return len(re.findall(r'<tr[^>]*>\s*<td class="action-checkbox">', html))


def test_index_shows_readable_app_and_model_names_and_links_the_dashboard(operator_client):
    html = operator_client.get("/admin/").content.decode()

    for name in ["Accounts", "Messaging", "Webhooks", "Webhook deliveries", "WhatsApp templates", "Traffic accounts"]:
        assert f">{name}<" in html, name
    assert "Deliverys" not in html and "deliverys" not in html
    assert "Accounts_App" not in html and "Channels_App" not in html
    assert 'href="/admin/dashboard/"' in html
    assert 'href="/api/docs/"' in html


def test_message_list_filters_by_customer_account_channel_status_and_date(operator_client):
    sms = TrafficAccountFactory(channel="sms")
    telegram = TrafficAccountFactory(channel="telegram")
    MessageFactory(traffic_account=sms, status=Status.FAILED)
    MessageFactory(traffic_account=sms, status=Status.DELIVERED)
    MessageFactory(traffic_account=telegram, status=Status.SENT)
    url = "/admin/channels_app/message/"

    page = operator_client.get(url).content.decode()

    assert _changelist_rows(page) == 3
    for title in ["By status", "By channel", "By created at", "By customer", "By traffic account"]:
        assert title in page, title

    def rows(**query: str) -> int:
        return _changelist_rows(operator_client.get(url, query).content.decode())

    assert rows(customer__id__exact=str(sms.customer_id)) == 2
    assert rows(traffic_account__id__exact=str(telegram.id)) == 1
    assert rows(channel__exact="telegram") == 1
    assert rows(status__exact="Failed") == 1
    since_2000 = {"created_at__gte": "2000-01-01 00:00:00+00:00", "created_at__lt": "2999-01-01 00:00:00+00:00"}
    assert rows(**since_2000) == 3
    assert rows(created_at__lt="2000-01-01 00:00:00+00:00") == 0


def test_message_search_finds_destination_and_provider_message_id(operator_client):
    account = TrafficAccountFactory(channel="sms")
    MessageFactory(traffic_account=account, destination="+41751230001", provider_message_id="mitto-abc-123")
    MessageFactory(traffic_account=account, destination="+41751239999", provider_message_id="mitto-xyz-789")
    url = "/admin/channels_app/message/"

    by_destination = operator_client.get(url, {"q": "1230001"}).content.decode()
    by_provider_id = operator_client.get(url, {"q": "mitto-xyz-789"}).content.decode()
    by_garbage = operator_client.get(url, {"q": "not-a-uuid"})

    assert _changelist_rows(by_destination) == 1 and "+41751230001" in by_destination
    assert _changelist_rows(by_provider_id) == 1 and "+41751239999" in by_provider_id
    assert by_garbage.status_code == 200 and _changelist_rows(by_garbage.content.decode()) == 0


def test_message_list_query_count_does_not_grow_with_rows(operator_client, django_assert_max_num_queries):
    for _ in range(3):
        MessageFactory(traffic_account=TrafficAccountFactory())
    operator_client.get("/admin/channels_app/message/")  # warm the session and content types

    for _ in range(20):
        MessageFactory(traffic_account=TrafficAccountFactory())
    with django_assert_max_num_queries(12):
        response = operator_client.get("/admin/channels_app/message/")

    assert response.status_code == 200


@responses.activate
def test_sync_templates_action_mirrors_metas_list(operator_client):
    account = TrafficAccountFactory(channel="whatsapp", base_url="https://graph.test")
    other = TrafficAccountFactory(channel="sms")
    WhatsAppTemplate.objects.create(traffic_account=account, name="gone", language="en_US", category="UTILITY")
    responses.get(
        GRAPH_TEMPLATES,
        json={
            "data": [
                {"name": "order_update", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
                 "id": "111", "components": [{"type": "BODY", "text": "Order {{1}} shipped"}]},
                {"name": "winter_sale", "language": "de", "category": "MARKETING", "status": "REJECTED",
                 "id": "222", "rejected_reason": "PROMOTIONAL", "components": []},
            ]
        },
    )

    response = operator_client.post(
        "/admin/accounts_app/trafficaccount/",
        {"action": "sync_account_templates", "_selected_action": [str(account.id), str(other.id)]},
        follow=True,
    )

    assert response.status_code == 200
    assert len(responses.calls) == 1
    assert responses.calls[0].request.headers["Authorization"] == "Bearer wa-token"
    stored = list(WhatsAppTemplate.objects.filter(traffic_account=account).values_list("name", "status"))
    assert sorted(stored) == [("order_update", "APPROVED"), ("winter_sale", "REJECTED")]
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"{account}: 2 new, 0 updated, 1 removed." in notes
    assert "1 selected account(s) are not WhatsApp accounts and were skipped." in notes


@responses.activate
def test_sync_templates_action_reports_metas_refusal_and_keeps_the_rows(operator_client):
    account = TrafficAccountFactory(channel="whatsapp", base_url="https://graph.test")
    WhatsAppTemplate.objects.create(traffic_account=account, name="kept", language="en_US", category="UTILITY")
    responses.get(
        GRAPH_TEMPLATES,
        status=401,
        json={"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}},
    )

    response = operator_client.post(
        "/admin/accounts_app/trafficaccount/",
        {"action": "sync_account_templates", "_selected_action": [str(account.id)]},
        follow=True,
    )

    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Invalid OAuth access token" in note for note in notes), notes
    assert WhatsAppTemplate.objects.filter(traffic_account=account, name="kept").exists()
