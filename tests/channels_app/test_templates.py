"""WhatsApp templates per traffic account: created, listed, refreshed and deleted at the
provider (the real sandbox on an ephemeral port), the send-path check and status updates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from rest_framework.exceptions import ValidationError

from channels_app.models import WhatsAppTemplate
from channels_app.services.templates import template_check, template_status_update
from channels_app.templates_admin import sync_selected_templates
from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.factories import CustomerFactory, TrafficAccountFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WABA_ID = "waba-1"  # tests.factories' WhatsApp credentials
VERSION = "v23.0"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox(senders=0) as running:
        yield running


@pytest.fixture
def control(sandbox: LocalSandbox) -> SandboxClient:
    assert sandbox.client is not None
    sandbox.client.reset()
    return sandbox.client


@pytest.fixture
def account(auth_client, sandbox, control):
    return TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp", base_url=sandbox.url)


def _url(account, name: str = "") -> str:
    base = f"/api/v1/trafficAccounts/{account.id}/WhatsAppTemplates"
    return f"{base}/{name}" if name else base


def _request(**changes: Any) -> dict[str, Any]:
    """Our API's create body, from the sandbox fixture of Meta's create request."""
    meta = _fixture("sandbox/whatsapp_template_create.json")
    body = {"category": meta["category"], "language": meta["language"], "components": meta["components"]}
    return body | changes


def _at_provider(sandbox: LocalSandbox, **changes: Any) -> dict[str, Any]:
    """Create a template at the sandbox directly, as if made in Meta's own tools."""
    body = _fixture("sandbox/whatsapp_template_create.json") | changes
    response = requests.post(
        f"{sandbox.url}/{VERSION}/{WABA_ID}/message_templates",
        json=body,
        headers={"Authorization": "Bearer wa-token"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _provider_templates(sandbox: LocalSandbox) -> list[dict[str, Any]]:
    response = requests.get(
        f"{sandbox.url}/{VERSION}/{WABA_ID}/message_templates",
        headers={"Authorization": "Bearer wa-token"},
        timeout=5,
    )
    return response.json()["data"]


def _template_requests(control: SandboxClient) -> list[dict[str, Any]]:
    return [r for r in control.requests(channel="whatsapp") if r["path"].endswith("/message_templates")]


# ---- create ------------------------------------------------------------------------------


def test_create_submits_to_meta_and_stores_its_answer(auth_client, account, sandbox, control):
    response = auth_client.post(_url(account, "order_update"), _request(category="utility"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    (recorded,) = _template_requests(control)
    assert recorded["method"] == "POST"
    assert recorded["path"] == f"/{VERSION}/{WABA_ID}/message_templates"
    assert recorded["headers"]["authorization"] == "Bearer wa-token"
    assert recorded["body"] == {
        "name": "order_update",
        "category": "UTILITY",
        "language": "en_US",
        "components": _request()["components"],
    }
    (at_meta,) = _provider_templates(sandbox)
    stored = WhatsAppTemplate.objects.get(traffic_account=account)
    assert (stored.name, stored.language, stored.category, stored.status) == (
        "order_update", "en_US", "UTILITY", "APPROVED",
    )
    assert stored.provider_template_id == at_meta["id"]
    assert body == {
        "id": str(stored.id),
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": _request()["components"],
        "status": "APPROVED",
        "rejectedReason": None,
        "providerTemplateId": at_meta["id"],
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
    }
    assert body["createdAt"].endswith("Z")


def test_create_keeps_metas_pending_status_and_canonical_component_types(auth_client, account, control):
    control.update_settings(template_status="PENDING")
    components = [
        {"type": "header", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "Body", "text": "Your order {{1}} ships on {{2}}."},
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
    ]

    response = auth_client.post(
        _url(account, "shipping"), _request(components=components, language="de"), format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "PENDING"
    stored = WhatsAppTemplate.objects.get(traffic_account=account, name="shipping", language="de")
    assert [c["type"] for c in stored.components] == ["HEADER", "BODY", "FOOTER"]
    assert [c["type"] for c in _template_requests(control)[0]["body"]["components"]] == ["HEADER", "BODY", "FOOTER"]


def test_existing_name_and_language_is_409_without_a_provider_call(auth_client, account, control):
    WhatsAppTemplate.objects.create(traffic_account=account, name="order_update", language="en_US", category="UTILITY")

    response = auth_client.post(_url(account, "order_update"), _request(), format="json")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("template-exists")
    assert _template_requests(control) == []


def test_same_name_in_another_language_is_created(auth_client, account, control):
    WhatsAppTemplate.objects.create(traffic_account=account, name="order_update", language="de", category="UTILITY")

    response = auth_client.post(_url(account, "order_update"), _request(), format="json")

    assert response.status_code == 201
    assert WhatsAppTemplate.objects.filter(traffic_account=account, name="order_update").count() == 2


def test_provider_refusal_is_502_with_its_code_and_nothing_is_stored(auth_client, account, sandbox):
    _at_provider(sandbox)  # Meta already has it (made in its own tools): Meta refuses the duplicate

    response = auth_client.post(_url(account, "order_update"), _request(), format="json")

    assert response.status_code == 502
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("provider-error")
    assert problem["providerCode"] == "100"
    assert "already exists" in problem["providerText"]
    assert problem["retryable"] is False
    assert not WhatsAppTemplate.objects.exists()


def test_bad_credentials_are_a_502_config_problem(auth_client, sandbox, control):
    account = TrafficAccountFactory(
        customer=auth_client.customer,
        channel="whatsapp",
        base_url=sandbox.url,
        credentials={"access_token": "invalid", "waba_id": WABA_ID},
    )

    response = auth_client.post(_url(account, "order_update"), _request(), format="json")

    assert response.status_code == 502
    problem = response.json()
    assert problem["type"].endswith("provider-config-error")
    assert problem["providerCode"] == "190"
    assert str(account.id) in problem["detail"]
    assert not WhatsAppTemplate.objects.exists()


def test_missing_waba_id_is_a_502_config_problem_without_a_provider_call(auth_client, sandbox, control):
    account = TrafficAccountFactory(
        customer=auth_client.customer, channel="whatsapp", base_url=sandbox.url, credentials={"access_token": "t"}
    )

    response = auth_client.post(_url(account, "order_update"), _request(), format="json")

    assert response.status_code == 502
    assert response.json()["type"].endswith("provider-config-error")
    assert "waba_id" in response.json()["detail"]
    assert _template_requests(control) == []


def test_unreachable_provider_is_a_retryable_502(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp", base_url="http://127.0.0.1:9")

    response = auth_client.post(_url(account, "order_update"), _request(), format="json")

    assert response.status_code == 502
    assert response.json()["retryable"] is True
    assert not WhatsAppTemplate.objects.exists()


@pytest.mark.parametrize(
    ("name", "body", "paths"),
    [
        ("bad-name", _request(), {"name"}),
        ("order_update", _request(category="SPAM"), {"category"}),
        ("order_update", _request(language="english"), {"language"}),
        ("order_update", _request(components=[]), {"components"}),
        ("order_update", _request(components=[{"type": "FOOTER", "text": "x"}]), {"components"}),
        ("order_update", _request(components=[{"type": "BODY"}]), {"components[0].text"}),
        (
            "order_update",
            _request(components=[{"type": "BODY", "text": "x"}, {"type": "STICKER"}, "oops"]),
            {"components[1].type", "components[2]"},
        ),
        ("order_update", _request(components=[{"type": "BODY", "text": "a"}] * 2), {"components[1].type"}),
        ("order_update", _request(components=[{"type": "BODY", "text": "a\u0000b"}]), {"components[0].text"}),
        ("bad-name", {}, {"name", "category", "language", "components"}),
    ],
)
def test_invalid_input_is_a_400_problem_with_paths(auth_client, account, control, name, body, paths):
    response = auth_client.post(_url(account, name), body, format="json")

    assert response.status_code == 400
    assert {e["path"] for e in response.json()["errors"]} == paths
    assert _template_requests(control) == []
    assert not WhatsAppTemplate.objects.exists()


# ---- list and refresh --------------------------------------------------------------------


def test_list_answers_the_local_templates_without_a_provider_call(auth_client, account, control):
    for name, language in (("b_template", "en_US"), ("a_template", "de"), ("a_template", "en_US")):
        WhatsAppTemplate.objects.create(traffic_account=account, name=name, language=language, category="UTILITY")
    other = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp")
    WhatsAppTemplate.objects.create(traffic_account=other, name="elsewhere", language="en_US", category="UTILITY")

    response = auth_client.get(_url(account))

    assert response.status_code == 200
    assert [(t["name"], t["language"]) for t in response.json()] == [
        ("a_template", "de"),
        ("a_template", "en_US"),
        ("b_template", "en_US"),
    ]
    assert _template_requests(control) == []


def test_refresh_replaces_the_local_list_with_metas(auth_client, account, sandbox, control):
    kept = _at_provider(sandbox)  # order_update en_US, APPROVED
    control.update_settings(template_status="REJECTED")
    _at_provider(sandbox, name="winter_sale", category="MARKETING", language="de")
    WhatsAppTemplate.objects.create(
        traffic_account=account, name="order_update", language="en_US", category="UTILITY", status="PENDING"
    )
    WhatsAppTemplate.objects.create(traffic_account=account, name="gone", language="en_US", category="UTILITY")
    control.clear_requests()

    response = auth_client.get(_url(account) + "?refresh=true")

    assert response.status_code == 200
    assert [(t["name"], t["language"], t["status"], t["category"]) for t in response.json()] == [
        ("order_update", "en_US", "APPROVED", "UTILITY"),
        ("winter_sale", "de", "REJECTED", "MARKETING"),
    ]
    assert response.json()[0]["providerTemplateId"] == kept["id"]
    (listing,) = _template_requests(control)
    assert listing["method"] == "GET"
    assert not WhatsAppTemplate.objects.filter(name="gone").exists()


def test_refresh_follows_metas_pages(auth_client, account, sandbox):
    for index in range(105):  # the adapter asks for 100 a page
        _at_provider(sandbox, name=f"t_{index:03d}")

    response = auth_client.get(_url(account) + "?refresh=1")

    assert len(response.json()) == 105


def test_refresh_failure_is_502_and_keeps_the_local_list(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="whatsapp", base_url="http://127.0.0.1:9")
    WhatsAppTemplate.objects.create(traffic_account=account, name="kept", language="en_US", category="UTILITY")

    response = auth_client.get(_url(account) + "?refresh=true")

    assert response.status_code == 502
    assert WhatsAppTemplate.objects.filter(name="kept").exists()


def test_refresh_flag_must_be_a_boolean(auth_client, account):
    response = auth_client.get(_url(account) + "?refresh=maybe")

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["refresh"]


def test_get_by_name_answers_every_language(auth_client, account):
    for language in ("de", "en_US"):
        WhatsAppTemplate.objects.create(traffic_account=account, name="hello", language=language, category="UTILITY")

    found = auth_client.get(_url(account, "hello"))
    missing = auth_client.get(_url(account, "nope"))

    assert [t["language"] for t in found.json()] == ["de", "en_US"]
    assert missing.status_code == 404


# ---- delete ------------------------------------------------------------------------------


def test_delete_removes_every_language_at_meta_and_here(auth_client, account, sandbox, control):
    for name, language in (("order_update", "en_US"), ("order_update", "de"), ("other_one", "en_US")):
        created = auth_client.post(_url(account, name), _request(language=language), format="json")
        assert created.status_code == 201
    control.clear_requests()

    response = auth_client.delete(_url(account, "order_update"))

    assert response.status_code == 204
    (deletion,) = _template_requests(control)
    assert (deletion["method"], deletion["query"]) == ("DELETE", {"name": "order_update"})
    assert [t["name"] for t in _provider_templates(sandbox)] == ["other_one"]
    assert list(WhatsAppTemplate.objects.values_list("name", flat=True)) == ["other_one"]


def test_delete_of_an_unknown_name_is_404_without_a_provider_call(auth_client, account, control):
    response = auth_client.delete(_url(account, "nope"))

    assert response.status_code == 404
    assert _template_requests(control) == []


def test_delete_refused_by_meta_is_502_and_keeps_the_row(auth_client, account):
    # Known here, unknown at Meta: Meta refuses, the row stays until a refresh says otherwise.
    WhatsAppTemplate.objects.create(traffic_account=account, name="local_only", language="en_US", category="UTILITY")

    response = auth_client.delete(_url(account, "local_only"))

    assert response.status_code == 502
    assert WhatsAppTemplate.objects.filter(name="local_only").exists()


# ---- whose account -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("get", "/order_update"), ("post", "/order_update"), ("delete", "/order_update")],
)
def test_another_customers_account_is_404_like_a_missing_one(auth_client, sandbox, control, method, suffix):
    foreign = TrafficAccountFactory(customer=CustomerFactory(), channel="whatsapp", base_url=sandbox.url)
    WhatsAppTemplate.objects.create(traffic_account=foreign, name="order_update", language="en_US", category="UTILITY")

    body = {"data": _request(), "format": "json"} if method == "post" else {}
    account_ids = (str(foreign.id), "3f0c3a6e-0000-4000-8000-000000000000", "not-a-uuid")
    responses = [
        getattr(auth_client, method)(f"/api/v1/trafficAccounts/{account_id}/WhatsAppTemplates{suffix}", **body)
        for account_id in account_ids
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    # Indistinguishable from a missing account: same problem, the id the client gave in the detail.
    problems = [
        {**r.json(), "detail": r.json()["detail"].replace(i, "X")} for r, i in zip(responses, account_ids, strict=True)
    ]
    assert problems[0] == problems[1] == problems[2]
    assert WhatsAppTemplate.objects.filter(traffic_account=foreign).count() == 1
    assert _template_requests(control) == []


def test_a_non_whatsapp_account_is_400(auth_client):
    account = TrafficAccountFactory(customer=auth_client.customer, channel="sms")

    listed = auth_client.get(_url(account))
    created = auth_client.post(_url(account, "order_update"), _request(), format="json")

    assert (listed.status_code, created.status_code) == (400, 400)
    assert listed.json()["type"].endswith("traffic-account-not-whatsapp")


def test_paths_are_case_insensitive_and_served_on_v1_1(auth_client, account):
    WhatsAppTemplate.objects.create(traffic_account=account, name="hello", language="en_US", category="UTILITY")

    response = auth_client.get(f"/API/V1.1/TRAFFICACCOUNTS/{str(account.id).upper()}/whatsappTemplates")

    assert [t["name"] for t in response.json()] == ["hello"]


def test_anonymous_is_401(api_client, account):
    assert api_client.get(_url(account)).status_code == 401


# ---- status webhook ----------------------------------------------------------------------


def test_status_update_moves_the_row_found_by_name_and_language(account):
    template = WhatsAppTemplate.objects.create(
        traffic_account=account, name="order_update", language="en_US", category="UTILITY"
    )
    WhatsAppTemplate.objects.create(traffic_account=account, name="order_update", language="de", category="UTILITY")

    updated = template_status_update(
        account=account, name="order_update", language="en_US", status="rejected", reason="INVALID_FORMAT",
        provider_template_id="777",
    )

    template.refresh_from_db()
    assert updated == template
    assert (template.status, template.rejected_reason, template.provider_template_id) == (
        "REJECTED", "INVALID_FORMAT", "777",
    )
    assert WhatsAppTemplate.objects.get(language="de").status == "PENDING"


def test_status_update_finds_the_row_by_provider_id_and_clears_the_reason(account):
    template = WhatsAppTemplate.objects.create(
        traffic_account=account, name="order_update", language="en_US", category="UTILITY",
        status="REJECTED", rejected_reason="INVALID_FORMAT", provider_template_id="777",
    )

    template_status_update(account=account, name="order_update", language="", status="APPROVED", reason="NONE",
                           provider_template_id="777")

    template.refresh_from_db()
    assert (template.status, template.rejected_reason) == ("APPROVED", "")


def test_status_update_of_an_unknown_template_changes_nothing(account):
    other = TrafficAccountFactory(customer=account.customer, channel="whatsapp")
    WhatsAppTemplate.objects.create(traffic_account=other, name="order_update", language="en_US", category="UTILITY")

    result = template_status_update(account=account, name="order_update", language="en_US", status="APPROVED")

    assert result is None
    assert WhatsAppTemplate.objects.get().status == "PENDING"


# ---- send-path check ---------------------------------------------------------------------


@pytest.fixture
def approved(account) -> WhatsAppTemplate:
    return WhatsAppTemplate.objects.create(
        traffic_account=account,
        name="order_update",
        language="en_US",
        category="UTILITY",
        status="APPROVED",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
            {"type": "BODY", "text": "Hi {{1}}, order {{2}} ships {{3}}. Thanks, {{1}}!"},
        ],
    )


def _template_content(**template: Any) -> dict[str, Any]:
    spec = {"name": "order_update", "language": "en_US", "parameters": ["Ann", "42", "today"],
            "headerParameters": ["42"]}
    return {"type": "template", "template": {k: v for k, v in (spec | template).items() if v is not None}}


def _check_errors(account, content: dict[str, Any]) -> Any:
    with pytest.raises(ValidationError) as raised:
        template_check(account=account, content=content)
    return raised.value.detail


def test_check_passes_an_approved_template_with_the_right_parameter_counts(account, approved):
    template_check(account=account, content=_template_content())


def test_check_ignores_regular_messages(account):
    template_check(account=account, content={"type": "regular", "regular": {"type": "text", "text": "hi"}})


@pytest.mark.parametrize("change", [{"name": "no_such"}, {"language": "de"}])
def test_check_refuses_a_template_unknown_for_the_account_and_language(account, approved, change):
    detail = _check_errors(account, _template_content(**change))

    assert set(detail) == {"template"}
    assert set(detail["template"]) == {"name"}


def test_check_refuses_another_accounts_template(approved):
    other = TrafficAccountFactory(customer=approved.traffic_account.customer, channel="whatsapp")

    assert set(_check_errors(other, _template_content())["template"]) == {"name"}


@pytest.mark.parametrize("status", ["PENDING", "REJECTED", "PAUSED"])
def test_check_refuses_a_template_that_is_not_approved(account, approved, status):
    WhatsAppTemplate.objects.filter(id=approved.id).update(status=status)

    detail = _check_errors(account, _template_content())

    assert status in str(detail["template"]["name"][0])


@pytest.mark.parametrize(
    ("change", "paths"),
    [
        ({"parameters": ["Ann", "42"]}, {"parameters"}),
        ({"parameters": ["Ann", "42", "today", "Ann"]}, {"parameters"}),
        ({"parameters": None}, {"parameters"}),
        ({"headerParameters": None}, {"headerParameters"}),
        ({"parameters": ["a"], "headerParameters": ["1", "2"]}, {"parameters", "headerParameters"}),
    ],
)
def test_check_refuses_a_wrong_number_of_parameters(account, approved, change, paths):
    detail = _check_errors(account, _template_content(**change))

    assert set(detail["template"]) == paths


def test_check_counts_one_parameter_for_a_media_header(account):
    WhatsAppTemplate.objects.create(
        traffic_account=account, name="receipt", language="en_US", category="UTILITY", status="APPROVED",
        components=[{"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Your receipt."}],
    )
    content = {"type": "template", "template": {"name": "receipt", "language": "en_US"}}

    assert set(_check_errors(account, content)["template"]) == {"headerParameters"}
    template_check(account=account, content=content | {"template": content["template"] | {"headerParameters": ["x"]}})


# ---- admin -------------------------------------------------------------------------------


def test_admin_action_syncs_the_selected_templates_accounts(account, sandbox):
    _at_provider(sandbox, name="from_meta")
    WhatsAppTemplate.objects.create(traffic_account=account, name="stale", language="en_US", category="UTILITY")
    broken = TrafficAccountFactory(customer=account.customer, channel="whatsapp", base_url="http://127.0.0.1:9")
    WhatsAppTemplate.objects.create(traffic_account=broken, name="kept", language="en_US", category="UTILITY")
    request = RequestFactory().post("/admin/")
    request.session = {}  # type: ignore[attr-defined]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]

    sync_selected_templates(admin.site._registry[WhatsAppTemplate], request, WhatsAppTemplate.objects.all())

    assert sorted(WhatsAppTemplate.objects.values_list("name", flat=True)) == ["from_meta", "kept"]
    levels = sorted(m.level_tag for m in get_messages(request))
    assert levels == ["error", "success"]


# ---- buttons -----------------------------------------------------------------------------


@pytest.fixture
def with_buttons(account) -> WhatsAppTemplate:
    return WhatsAppTemplate.objects.create(
        traffic_account=account, name="delivery_slot", language="en_US", category="UTILITY", status="APPROVED",
        components=[
            {"type": "BODY", "text": "Your parcel arrives tomorrow."},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Reschedule"},
                {"type": "URL", "text": "Track", "url": "https://track.example.com/{{1}}"},
            ]},
        ],
    )


def test_a_template_with_button_values_is_sent_with_metas_button_components(
    auth_client, account, with_buttons, control
):
    from channels_app.models import Message
    from channels_app.services.dispatch import messages_dispatch

    buttons = [{"index": 0, "type": "quickReply", "payload": "reschedule-42"},
               {"index": 1, "type": "url", "text": "42?lang=en"}]
    response = auth_client.post("/api/v1/Message/send", {
        "trafficAccountId": str(account.id), "destination": "+41751231234",
        "whatsapp": {
            "type": "template",
            "template": {"name": "delivery_slot", "language": "en_US", "buttons": buttons},
        },
    }, format="json")
    assert response.status_code == 200, response.json()

    messages_dispatch([response.json()["messageId"]])

    assert Message.objects.get(id=response.json()["messageId"]).status == "Sent"
    (sent,) = [r for r in control.requests(channel="whatsapp") if r["path"].endswith("/messages")]
    assert sent["body"]["template"]["components"] == [
        {"type": "button", "sub_type": "quick_reply", "index": "0",
         "parameters": [{"type": "payload", "payload": "reschedule-42"}]},
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "42?lang=en"}]},
    ]


@pytest.mark.parametrize(
    "buttons",
    [
        [{"index": 0, "type": "url", "text": "42"}],  # button 0 is a quick reply; the URL one is missing
        [{"index": 1, "type": "url", "text": "42"}, {"index": 5, "type": "quickReply", "payload": "x"}],
        [{"index": 0, "type": "quickReply", "payload": "x"}],  # the dynamic URL needs its suffix
    ],
)
def test_button_values_the_template_cannot_take_are_refused_at_accept(auth_client, account, with_buttons, buttons):
    response = auth_client.post("/api/v1/Message/send", {
        "trafficAccountId": str(account.id), "destination": "+41751231234",
        "whatsapp": {
            "type": "template",
            "template": {"name": "delivery_slot", "language": "en_US", "buttons": buttons},
        },
    }, format="json")

    assert response.status_code == 400
    assert {e["path"].split("[")[0] for e in response.json()["errors"]} == {"whatsapp.template.buttons"}
