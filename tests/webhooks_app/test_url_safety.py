"""Which webhook URLs the gateway will call: scheme, credentials, and the network policy."""

from __future__ import annotations

import pytest

from webhooks_app.services.url_safety import (
    WebhookHostUnresolvable,
    WebhookUrlRefused,
    address_refusal,
    url_check,
)


@pytest.fixture
def production_policy(settings):
    settings.DEBUG = False
    settings.WEBHOOK_DENIED_NETWORKS = None
    settings.WEBHOOK_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "0.0.0.0",  # noqa: S104 - an address under test, nothing binds to it
        "169.254.169.254",
        "169.254.10.1",
        "fe80::1",
        "fe80::1%eth0",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_loopback_link_local_and_metadata_are_refused_by_default(production_policy, address):
    assert address_refusal(address) is not None


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "172.16.3.4", "192.168.1.20", "fd12:3456::1", "203.0.113.10", "2001:db8::1"]
)
def test_private_and_public_addresses_are_allowed_by_default(production_policy, address):
    assert address_refusal(address) is None


def test_debug_has_no_default_deny_list_so_localhost_works_in_development(settings):
    settings.DEBUG = True
    settings.WEBHOOK_DENIED_NETWORKS = None

    assert address_refusal("127.0.0.1") is None
    url_check("http://localhost:8080/hook")


def test_an_explicit_deny_list_applies_even_in_debug(settings):
    settings.DEBUG = True
    settings.WEBHOOK_DENIED_NETWORKS = ["10.0.0.0/8"]

    assert address_refusal("10.1.2.3") == "10.1.2.3 is in the denied network 10.0.0.0/8"
    assert address_refusal("127.0.0.1") is None


def test_the_allow_list_wins_over_the_deny_list(production_policy, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]

    assert address_refusal("127.0.0.1") is None
    assert address_refusal("127.0.0.2") is not None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://203.0.113.10/hook", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("https://user:secret@203.0.113.10/hook", "Credentials"),
        ("https://token@203.0.113.10/hook", "Credentials"),
        ("https:///hook", "no host"),
        ("https://203.0.113.10:99999/hook", "invalid port"),
        ("https://203.0.113.10/ho ok", "whitespace"),
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is in the denied network 127.0.0.0/8"),
        ("http://localhost/hook", "denied network"),
        ("http://[::1]/hook", "::1 is in the denied network"),
        ("http://169.254.169.254/latest/meta-data/", "denied network 169.254.0.0/16"),
        ("http://[::ffff:169.254.169.254]/", "denied network"),
    ],
)
def test_refused_urls_say_why(production_policy, url, reason):
    with pytest.raises(WebhookUrlRefused, match=reason):
        url_check(url)


@pytest.mark.parametrize("url", ["https://203.0.113.10/hook", "http://10.0.0.5:8080/x?y=1", "HTTPS://[2001:db8::1]/h"])
def test_acceptable_urls_pass(production_policy, url):
    url_check(url)


def test_a_host_that_does_not_resolve_is_its_own_error(production_policy):
    with pytest.raises(WebhookHostUnresolvable, match="does not resolve"):
        url_check("https://no-such-host.invalid/hook")
