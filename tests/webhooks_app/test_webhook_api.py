"""The Webhook and WebhookTrafficAccount endpoints: CRUD, secrets, mappings, isolation, URL policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory, TrafficAccountFactory
from webhooks_app.models import Webhook, WebhookTrafficAccount

pytestmark = pytest.mark.django_db

URL = "https://93.184.215.14/hooks/chat"
FIELDS = {"id", "name", "url", "triggers", "isActive", "trafficAccountIds", "createdAt", "updatedAt"}


@pytest.fixture(autouse=True)
def _production_url_policy(settings):
    settings.WEBHOOK_DENIED_NETWORKS = []
    settings.WEBHOOK_ALLOWED_NETWORKS = []


def _create(client, **overrides) -> dict:
    body = {"name": "CRM", "url": URL, "triggers": ["Delivered", "Read"]} | overrides
    response = client.post("/api/v1/Webhook", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_needs_only_url_and_triggers_as_the_guide_shows(auth_client):
    response = auth_client.post("/api/v1/Webhook", {"url": URL, "triggers": ["Delivered"]}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == ""
    assert Webhook.objects.get(id=body["id"]).triggers == ["Delivered"]


def test_update_without_name_keeps_the_name(auth_client):
    created = _create(auth_client, name="CRM")

    response = auth_client.put(f"/api/v1/Webhook/{created['id']}", {"triggers": ["Failed"]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "CRM"


def test_create_answers_the_webhook_with_its_secret_once(auth_client):
    response = auth_client.post(
        "/api/v1/Webhook",
        {"name": "CRM", "url": URL, "triggers": ["usermessage", "DELIVERED", "Failed", "delivered"]},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == FIELDS | {"secret"}
    assert body["triggers"] == ["Delivered", "Failed", "UserMessage"]  # canonical spelling and order
    assert body["isActive"] is True
    assert body["trafficAccountIds"] == []
    assert body["createdAt"].endswith("Z")
    webhook = Webhook.objects.get(id=body["id"])
    assert webhook.customer == auth_client.customer
    assert body["secret"] == webhook.secret and body["secret"].startswith("whsec_")
    # Reads never show it again.
    assert "secret" not in auth_client.get(f"/api/v1/Webhook/{body['id']}").json()
    assert all("secret" not in item for item in auth_client.get("/api/v1/Webhook").json())


def test_list_and_get(auth_client):
    first = _create(auth_client, name="first")
    second = _create(auth_client, name="second", isActive=False)

    listed = auth_client.get("/api/v1/Webhook").json()
    fetched = auth_client.get(f"/api/v1.1/webhook/{second['id'].upper()}").json()

    assert [w["id"] for w in listed] == [first["id"], second["id"]]
    assert set(listed[0]) == FIELDS
    assert fetched["name"] == "second" and fetched["isActive"] is False


def test_put_replaces_the_trigger_set_whole(auth_client):
    created = _create(auth_client, triggers=["Delivered", "Read", "UserMessage"])

    response = auth_client.put(f"/api/v1/Webhook/{created['id']}", {"triggers": ["failed"]}, format="json")

    assert response.status_code == 200
    assert response.json()["triggers"] == ["Failed"]
    assert Webhook.objects.get(id=created["id"]).triggers == ["Failed"]
    assert response.json()["name"] == "CRM"  # untouched fields stay


def test_put_changes_name_url_and_active_flag(auth_client):
    created = _create(auth_client)

    body = auth_client.put(
        f"/api/v1/Webhook/{created['id']}",
        {"name": "Renamed", "url": "https://93.184.215.20/new", "isActive": False},
        format="json",
    ).json()

    assert (body["name"], body["url"], body["isActive"]) == ("Renamed", "https://93.184.215.20/new", False)
    assert body["triggers"] == ["Delivered", "Read"]
    assert body["updatedAt"] > created["updatedAt"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"triggers": ["Delivered", "Clicked"]}, "triggers"),
        ({"triggers": []}, "triggers"),
        ({"triggers": "Delivered"}, "triggers"),
        ({"url": "ftp://93.184.215.14/x"}, "url"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_invalid_input_is_a_problem_naming_the_field(auth_client, body, path):
    request = {"name": "CRM", "url": URL, "triggers": ["Read"]} | body

    response = auth_client.post("/api/v1/Webhook", request, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [e["path"] for e in response.json()["errors"]] == [path]


def test_post_requires_url_and_triggers(auth_client):
    response = auth_client.post("/api/v1/Webhook", {}, format="json")

    assert response.status_code == 400
    assert {e["path"] for e in response.json()["errors"]} == {"url", "triggers"}


def test_delete(auth_client):
    created = _create(auth_client)

    assert auth_client.delete(f"/api/v1/Webhook/{created['id']}").status_code == 204
    assert auth_client.get(f"/api/v1/Webhook/{created['id']}").status_code == 404
    assert not Webhook.objects.filter(id=created["id"]).exists()


def test_another_customers_webhook_is_404_everywhere_and_never_listed(auth_client, client_for):
    theirs = _create(client_for(CustomerFactory()))
    path = f"/api/v1/Webhook/{theirs['id']}"

    assert auth_client.get("/api/v1/Webhook").json() == []
    assert auth_client.get(path).status_code == 404
    assert auth_client.put(path, {"triggers": ["Failed"]}, format="json").status_code == 404
    assert auth_client.delete(path).status_code == 404
    assert auth_client.post(f"{path}/rotateSecret").status_code == 404
    assert auth_client.get(f"{path}/deliveries").status_code == 404
    webhook = Webhook.objects.get(id=theirs["id"])
    assert webhook.triggers == ["Delivered", "Read"]
    assert webhook.secret == theirs["secret"]


def test_unknown_and_malformed_ids_are_404(auth_client):
    assert auth_client.get("/api/v1/Webhook/5b0e2f7e-0000-4000-8000-000000000000").status_code == 404
    assert auth_client.get("/api/v1/Webhook/not-a-uuid").status_code == 404


def test_the_api_needs_a_token(api_client):
    assert api_client.get("/api/v1/Webhook").status_code == 401


def test_rotate_secret_shows_the_new_secret_and_keeps_the_old_one_for_the_window(auth_client, settings):
    settings.WEBHOOK_SECRET_ROTATION_SECONDS = 3600
    created = _create(auth_client)

    response = auth_client.post(f"/api/v1/Webhook/{created['id']}/rotateSecret")

    assert response.status_code == 200
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    webhook = Webhook.objects.get(id=created["id"])
    assert (webhook.secret, webhook.previous_secret) == (body["secret"], created["secret"])
    expected = timezone.now() + timedelta(seconds=3600)
    assert abs(webhook.previous_secret_expires_at - expected) < timedelta(seconds=5)
    assert body["previousSecretExpiresAt"].endswith("Z")
    assert "secret" not in auth_client.get(f"/api/v1/Webhook/{created['id']}").json()


def test_apply_and_delete_a_traffic_account_mapping(auth_client):
    webhook = _create(auth_client)
    account = TrafficAccountFactory(customer=auth_client.customer)
    mapping = {"webhookId": webhook["id"], "trafficAccountId": str(account.id)}
    apply_path = "/api/v1/WebhookTrafficAccount/ApplyWebhookForTrafficAccount"
    delete_path = "/api/v1/WebhookTrafficAccount/DeleteWebhookForTrafficAccount"

    first = auth_client.post(apply_path, mapping, format="json")
    again = auth_client.post(apply_path, mapping, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == mapping
    assert WebhookTrafficAccount.objects.filter(webhook_id=webhook["id"]).count() == 1
    assert auth_client.get(f"/api/v1/Webhook/{webhook['id']}").json()["trafficAccountIds"] == [str(account.id)]

    assert auth_client.delete(delete_path, mapping, format="json").status_code == 204
    assert auth_client.get(f"/api/v1/Webhook/{webhook['id']}").json()["trafficAccountIds"] == []


def test_delete_mapping_takes_ids_from_the_query_string(auth_client):
    webhook = _create(auth_client)
    account = TrafficAccountFactory(customer=auth_client.customer)
    WebhookTrafficAccount.objects.create(webhook_id=webhook["id"], traffic_account=account)

    response = auth_client.delete(
        "/api/v1/webhooktrafficaccount/deletewebhookfortrafficaccount"
        f"?webhookId={webhook['id']}&trafficAccountId={account.id}"
    )

    assert response.status_code == 204
    assert not WebhookTrafficAccount.objects.filter(webhook_id=webhook["id"]).exists()


def test_mappings_need_both_ids_to_be_yours(auth_client, client_for):
    mine = _create(auth_client)
    my_account = TrafficAccountFactory(customer=auth_client.customer)
    other = CustomerFactory()
    theirs = _create(client_for(other))
    their_account = TrafficAccountFactory(customer=other)
    WebhookTrafficAccount.objects.create(webhook_id=theirs["id"], traffic_account=their_account)
    apply_path = "/api/v1/WebhookTrafficAccount/ApplyWebhookForTrafficAccount"
    delete_path = "/api/v1/WebhookTrafficAccount/DeleteWebhookForTrafficAccount"

    def ids(webhook: dict, account) -> dict:
        return {"webhookId": webhook["id"], "trafficAccountId": str(account.id)}

    responses = [
        auth_client.post(apply_path, ids(mine, their_account), format="json"),
        auth_client.post(apply_path, ids(theirs, my_account), format="json"),
        auth_client.delete(delete_path, ids(theirs, their_account), format="json"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    mappings = WebhookTrafficAccount.objects.filter(traffic_account__in=[my_account, their_account])
    assert [str(i) for i in mappings.values_list("webhook_id", flat=True)] == [theirs["id"]]


def test_mapping_ids_are_validated(auth_client):
    response = auth_client.post(
        "/api/v1/WebhookTrafficAccount/ApplyWebhookForTrafficAccount", {"webhookId": "nope"}, format="json"
    )

    assert response.status_code == 400
    assert {e["path"] for e in response.json()["errors"]} == {"webhookId", "trafficAccountId"}


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/hook", "http://localhost/hook", "http://169.254.169.254/latest/meta-data/",
     "http://[::1]/hook", "https://user:pass@93.184.215.14/hook", "https://no-such-host.invalid/hook"],
)
def test_registration_refuses_unsafe_urls(auth_client, url):
    response = auth_client.post("/api/v1/Webhook", {"name": "x", "url": url, "triggers": ["Read"]}, format="json")

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["url"]
    assert not Webhook.objects.filter(customer=auth_client.customer).exists()


def test_put_refuses_an_unsafe_url(auth_client):
    created = _create(auth_client)

    response = auth_client.put(
        f"/api/v1/Webhook/{created['id']}", {"url": "http://169.254.169.254/latest"}, format="json"
    )

    assert response.status_code == 400
    assert Webhook.objects.get(id=created["id"]).url == URL


def test_private_addresses_are_refused_without_naming_the_address(auth_client):
    response = auth_client.post(
        "/api/v1/Webhook", {"name": "CRM", "url": "http://10.20.30.40:8080/hook", "triggers": ["Read"]}, format="json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    message = response.json()["errors"][0]["message"]
    assert "private" in message and "10.20.30.40" not in message


def test_the_operator_allows_private_receivers_globally(auth_client, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert _create(auth_client, url="http://10.20.30.40:8080/hook")["url"] == "http://10.20.30.40:8080/hook"


def test_staff_allow_private_receivers_for_one_customer_only(auth_client, client_for):
    auth_client.customer.webhook_allowed_networks = ["10.20.0.0/16"]
    auth_client.customer.save(update_fields=["webhook_allowed_networks"])
    other = client_for(CustomerFactory())
    body = {"name": "CRM", "url": "http://10.20.30.40:8080/hook", "triggers": ["Read"]}

    assert auth_client.post("/api/v1/Webhook", body, format="json").status_code == 201
    assert other.post("/api/v1/Webhook", body, format="json").status_code == 400
    assert auth_client.post(
        "/api/v1/Webhook", {**body, "url": "http://10.21.0.1/hook"}, format="json"
    ).status_code == 400


def test_loopback_is_accepted_only_when_allowed_explicitly(auth_client, settings):
    settings.DEBUG = True
    assert auth_client.post(
        "/api/v1/Webhook", {"name": "CRM", "url": "http://localhost:9000/hook", "triggers": ["Read"]}, format="json"
    ).status_code == 400

    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    _create(auth_client, url="http://localhost:9000/hook")


def test_the_schema_documents_the_webhook_api(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    expected = {
        "/api/v1/Webhook": {"get", "post"},
        "/api/v1/Webhook/{webhook_id}": {"get", "put", "delete"},
        "/api/v1/Webhook/{webhook_id}/rotateSecret": {"post"},
        "/api/v1/Webhook/{webhook_id}/deliveries": {"get"},
        "/api/v1/Webhook/{webhook_id}/deliveries/{delivery_id}/redeliver": {"post"},
        "/api/v1/WebhookTrafficAccount/ApplyWebhookForTrafficAccount": {"post"},
        "/api/v1/WebhookTrafficAccount/DeleteWebhookForTrafficAccount": {"delete"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) >= methods, path
        assert all(paths[path][m]["tags"] == ["Webhook"] for m in methods)
    assert "examples" in paths["/api/v1/Webhook"]["post"]["requestBody"]["content"]["application/json"]
