"""Registering our callback URLs with Telegram and Viber: the management command and the admin action."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import responses
from django.contrib import admin, messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from responses import matchers

from accounts_app.models import TrafficAccount
from channels_app.accounts_admin import register_provider_webhook
from tests.channels_app.callbacks.helpers import FIXTURES
from tests.factories import TrafficAccountFactory

pytestmark = pytest.mark.django_db

PROVIDER_FIXTURES = FIXTURES.parent / "providers"
PUBLIC = "https://gw.example.com"
TELEGRAM_API = "https://provider.test/bot123456:telegram-token"
VIBER_API = "https://provider.test/pa"


def provider_json(channel: str, name: str) -> dict:
    return json.loads((PROVIDER_FIXTURES / channel / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PUBLIC_BASE_URL = PUBLIC


def run(*args: str) -> dict:
    out = StringIO()
    call_command("provider_webhook", *args, stdout=out)
    return json.loads(out.getvalue())


# ---- Telegram ------------------------------------------------------------------------------


@responses.activate
def test_telegram_set_registers_our_url_with_the_stored_secret():
    account = TrafficAccountFactory(channel="telegram")
    call = responses.post(
        f"{TELEGRAM_API}/setWebhook",
        json=provider_json("telegram", "set_webhook_success"),
        match=[matchers.json_params_matcher({
            "url": f"{PUBLIC}/callbacks/telegram?ta={account.id}",
            "secret_token": "tg-secret",
        })],
    )

    answer = run("set", "--traffic-account", str(account.id))

    assert call.call_count == 1
    assert answer["ok"] is True


@responses.activate
def test_telegram_set_generates_and_saves_a_secret_when_the_account_has_none(client):
    account = TrafficAccountFactory(channel="telegram", credentials={"bot_token": "123456:telegram-token"})
    call = responses.post(f"{TELEGRAM_API}/setWebhook", json=provider_json("telegram", "set_webhook_success"))

    run("set", "--traffic-account", str(account.id))

    secret = TrafficAccount.objects.get(id=account.id).credentials["secret_token"]
    assert len(secret) >= 32 and secret.replace("-", "").replace("_", "").isalnum()
    sent = json.loads(call.calls[0].request.body)
    assert sent["secret_token"] == secret
    # the secret Telegram now sends is the one our endpoint accepts
    update = (FIXTURES / "telegram" / "message_text.json").read_bytes()
    response = client.post(f"/callbacks/telegram?ta={account.id}", data=update, content_type="application/json",
                           headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert response.status_code == 200


@responses.activate
def test_telegram_show_prints_what_telegram_has_registered():
    account = TrafficAccountFactory(channel="telegram")
    responses.post(f"{TELEGRAM_API}/getWebhookInfo", json=provider_json("telegram", "get_webhook_info_success"))

    answer = run("show", "--traffic-account", str(account.id))

    assert answer["url"].startswith("https://gateway.example.com/callbacks/telegram?ta=")
    assert answer["pending_update_count"] == 0


@responses.activate
def test_telegram_delete_removes_the_webhook():
    account = TrafficAccountFactory(channel="telegram")
    call = responses.post(f"{TELEGRAM_API}/deleteWebhook", json=provider_json("telegram", "delete_webhook_success"))

    run("delete", "--traffic-account", str(account.id))

    assert call.call_count == 1


@responses.activate
def test_a_telegram_refusal_is_a_command_error_without_the_bot_token():
    account = TrafficAccountFactory(channel="telegram")
    refusal = {"ok": False, "error_code": 400, "description": "Bad Request: bad webhook: HTTPS url must be provided"}
    responses.post(f"{TELEGRAM_API}/setWebhook", status=400, json=refusal)

    with pytest.raises(CommandError, match="HTTPS url must be provided") as raised:
        run("set", "--traffic-account", str(account.id))

    assert "telegram-token" not in str(raised.value)


# ---- Viber ---------------------------------------------------------------------------------


@responses.activate
def test_viber_set_registers_our_url():
    account = TrafficAccountFactory(channel="viber")
    call = responses.post(
        f"{VIBER_API}/set_webhook",
        json=provider_json("viber", "set_webhook_success"),
        match=[matchers.header_matcher({"X-Viber-Auth-Token": "viber-token"})],
    )

    answer = run("set", "--traffic-account", str(account.id))

    assert json.loads(call.calls[0].request.body)["url"] == f"{PUBLIC}/callbacks/viber?ta={account.id}"
    assert answer["status"] == 0


@responses.activate
def test_viber_show_prints_the_account_info():
    account = TrafficAccountFactory(channel="viber")
    responses.post(f"{VIBER_API}/get_account_info", json=provider_json("viber", "get_account_info_success"))

    answer = run("show", "--traffic-account", str(account.id))

    assert answer["webhook"].startswith("https://gateway.example.com/callbacks/viber?ta=")


@responses.activate
def test_viber_delete_sets_an_empty_webhook():
    account = TrafficAccountFactory(channel="viber")
    call = responses.post(f"{VIBER_API}/set_webhook", json={"status": 0, "status_message": "ok"},
                          match=[matchers.json_params_matcher({"url": ""})])

    run("delete", "--traffic-account", str(account.id))

    assert call.call_count == 1


@responses.activate
def test_a_viber_refusal_is_a_command_error():
    account = TrafficAccountFactory(channel="viber")
    responses.post(f"{VIBER_API}/set_webhook", json={"status": 1, "status_message": "webhook check failed"})

    with pytest.raises(CommandError, match="failed"):
        run("set", "--traffic-account", str(account.id))


# ---- other channels and bad input ----------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "says"),
    [("whatsapp", "Meta app dashboard"), ("gbm", "Business Communications console"), ("sms", "mitto_inbound_url")],
)
@responses.activate
def test_other_channels_get_instructions_instead(channel, says):
    account = TrafficAccountFactory(channel=channel)

    with pytest.raises(CommandError, match=says):
        run("set", "--traffic-account", str(account.id))
    assert len(responses.calls) == 0


def test_whatsapp_instructions_name_our_callback_url():
    account = TrafficAccountFactory(channel="whatsapp")

    with pytest.raises(CommandError, match=f"{PUBLIC}/callbacks/whatsapp/{account.id}"):
        run("show", "--traffic-account", str(account.id))


@responses.activate
def test_an_inactive_account_is_not_registered():
    account = TrafficAccountFactory(channel="viber", is_active=False)

    with pytest.raises(CommandError, match="inactive"):
        run("set", "--traffic-account", str(account.id))
    assert len(responses.calls) == 0


@pytest.mark.parametrize("raw", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_account_is_a_command_error(raw):
    with pytest.raises(CommandError):
        run("set", "--traffic-account", raw)


# ---- admin action ------------------------------------------------------------------------


def _admin_request(user):
    request = RequestFactory().post("/admin/accounts_app/trafficaccount/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@responses.activate
def test_the_admin_action_registers_managed_channels_and_explains_the_rest(admin_user):
    telegram = TrafficAccountFactory(channel="telegram")
    whatsapp = TrafficAccountFactory(channel="whatsapp")
    responses.post(f"{TELEGRAM_API}/setWebhook", json=provider_json("telegram", "set_webhook_success"))
    modeladmin = admin.site._registry[TrafficAccount]
    request = _admin_request(admin_user)

    register_provider_webhook(modeladmin, request, TrafficAccount.objects.filter(id__in=[telegram.id, whatsapp.id]))

    shown = {(m.level, m.message.split(":")[0]) for m in messages.get_messages(request)}
    assert (messages.SUCCESS, str(telegram)) in shown
    assert (messages.WARNING, str(whatsapp)) in shown
    assert len(responses.calls) == 1


@responses.activate
def test_the_admin_action_reports_a_provider_refusal(admin_user):
    viber = TrafficAccountFactory(channel="viber")
    responses.post(f"{VIBER_API}/set_webhook", json={"status": 2, "status_message": "invalidAuthToken"})
    request = _admin_request(admin_user)

    register_provider_webhook(admin.site._registry[TrafficAccount], request, TrafficAccount.objects.filter(id=viber.id))

    [shown] = list(messages.get_messages(request))
    assert shown.level == messages.ERROR
    assert "invalidAuthToken" in shown.message
