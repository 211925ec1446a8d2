"""The registry is the one list of provider packages: its specs must agree with the static
channel facts, and the per-channel tables elsewhere are read from it."""

from __future__ import annotations

import dataclasses

import requests
import responses
from django.core.management import call_command

from channels_app.capabilities import can_reach
from channels_app.providers.checks import channel_spec_errors
from channels_app.providers.http import call_provider
from channels_app.providers.registry import SPECS
from channels_app.services.statistics_timeline import CHANNELS_WITHOUT_RECEIPTS
from channels_app.status import Status
from gateway.channels import Channel, channel_credential_keys


def test_every_channel_has_a_complete_spec():
    assert channel_spec_errors(SPECS) == []
    call_command("check")  # raises SystemCheckError on any error


def test_a_channel_registered_without_its_static_facts_is_named():
    acme = dataclasses.replace(SPECS[Channel.TELEGRAM], channel="acme")
    errors = channel_spec_errors({**SPECS, "acme": acme})
    assert {error.id for error in errors} == {
        "channels.E001",  # not in Channel.ALL
        "channels.E002",  # no label
        "channels.E003",  # no default base URL
        "channels.E004",  # its adapter says telegram
    }


def test_a_channel_without_a_provider_package_is_named():
    specs = {channel: spec for channel, spec in SPECS.items() if channel != Channel.GBM}
    errors = channel_spec_errors(specs)
    assert [(error.id, error.msg) for error in errors] == [
        ("channels.E006", "Channel 'gbm' has no provider package in the registry.")
    ]


def test_accounts_app_reads_the_credential_keys_the_provider_packages_declare():
    assert dict(channel_credential_keys()) == {channel: spec.credential_keys for channel, spec in SPECS.items()}
    assert channel_credential_keys()[Channel.SMS] == ("api_key",)


def test_receipts_follow_the_declared_statuses():
    assert CHANNELS_WITHOUT_RECEIPTS == (Channel.TELEGRAM,)
    assert not can_reach(Channel.TELEGRAM, Status.DELIVERED)
    assert not can_reach(Channel.SMS, Status.READ)
    assert can_reach(Channel.SMS, Status.DELIVERED)


@responses.activate
def test_an_adapters_auth_header_is_masked_even_when_not_passed_as_a_secret():
    responses.post("https://provider.test/send", json={"ok": True})
    headers = {"X-Acme-Key": "k-123", "Authorization": "Bearer t-456", "Accept": "application/json"}
    _, exchange = call_provider(
        requests.Session(), "POST", "https://provider.test/send", headers=headers, sensitive_headers={"x-acme-key"}
    )
    assert exchange.request_headers == {"X-Acme-Key": "***", "Authorization": "***", "Accept": "application/json"}
