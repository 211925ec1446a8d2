"""Which customer-supplied URLs the gateway will call: scheme, credentials, and the address policy."""

from __future__ import annotations

import pytest

from gateway.url_safety import (
    AddressPolicy,
    WebhookHostUnresolvable,
    WebhookUrlRefused,
    address_policy,
    address_refusal,
    url_check,
)


@pytest.fixture(autouse=True)
def default_policy(settings):
    settings.WEBHOOK_DENIED_NETWORKS = []
    settings.WEBHOOK_ALLOWED_NETWORKS = []


REFUSED_BY_DEFAULT = [
    # IPv4 special-purpose ranges
    "0.0.0.0",  # noqa: S104 - an address under test, nothing binds to it
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.254",
    "100.64.0.1",
    "100.127.255.254",
    "100.100.100.200",  # Alibaba metadata
    "127.0.0.1",
    "127.8.9.10",
    "169.254.10.1",
    "169.254.169.254",  # AWS / GCP / Azure metadata
    "172.16.0.1",
    "172.31.255.254",
    "192.0.0.8",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.0.1",
    "192.168.255.254",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.10",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 special-purpose ranges
    "::",
    "::1",
    "100::1",
    "2001::1",  # Teredo
    "2001:db8::1",
    "64:ff9b:1::a00:1",  # local-use NAT64
    "fc00::1",
    "fd12:3456::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    # IPv4 inside IPv6: judged by the IPv4 address they reach
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:192.168.1.1",
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::ac10:1",  # NAT64 of 172.16.0.1
    "64:ff9b::c0a8:101",  # NAT64 of 192.168.1.1
    "64:ff9b::6440:1",  # NAT64 of 100.64.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:ac10:1::",  # 6to4 of 172.16.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2002:6440:1::1",  # 6to4 of 100.64.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
]

ALLOWED_BY_DEFAULT = [
    "93.184.215.14",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",  # IPv4-mapped public
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address", REFUSED_BY_DEFAULT)
def test_every_non_global_address_and_its_wrapped_forms_are_refused(address):
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ALLOWED_BY_DEFAULT)
def test_global_addresses_and_their_wrapped_forms_are_allowed(address):
    assert address_refusal(address) is None


def test_a_wrapped_address_names_what_it_reaches():
    assert address_refusal("64:ff9b::a00:1") == "64:ff9b::a00:1 (reaching 10.0.0.1) is in the denied network 10.0.0.0/8"


def test_the_operator_allow_list_opens_private_ranges_and_their_wrapped_forms(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert address_refusal("10.1.2.3") is None
    assert address_refusal("::ffff:10.1.2.3") is None
    assert address_refusal("64:ff9b::a01:203") is None
    assert address_refusal("2002:a01:203::1") is None
    assert address_refusal("192.168.1.1") is not None


def test_a_customer_allowance_joins_the_operator_policy_for_that_customer_only():
    mine = address_policy(["192.168.10.0/24"])

    assert address_refusal("192.168.10.5", mine) is None
    assert address_refusal("192.168.11.5", mine) is not None
    assert address_refusal("192.168.10.5", address_policy()) is not None


@pytest.mark.parametrize("address", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200"])
def test_no_allow_list_opens_cloud_metadata(address):
    wide_open = AddressPolicy(allowed=address_policy(["0.0.0.0/0", "::/0"]).allowed)

    assert "cloud metadata" in address_refusal(address, wide_open)


def test_the_deny_setting_adds_to_the_built_in_list_and_never_replaces_it(settings):
    settings.WEBHOOK_DENIED_NETWORKS = ["93.184.215.0/24"]

    assert address_refusal("93.184.215.14") == "93.184.215.14 is in the denied network 93.184.215.0/24"
    assert address_refusal("127.0.0.1") is not None
    assert address_refusal("10.0.0.1") is not None
    assert address_refusal("8.8.8.8") is None


def test_debug_does_not_open_loopback(settings):
    settings.DEBUG = True

    assert address_refusal("127.0.0.1") is not None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://93.184.215.14/hook", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("https://user:secret@93.184.215.14/hook", "Credentials"),
        ("https://token@93.184.215.14/hook", "Credentials"),
        ("https:///hook", "no host"),
        ("https://93.184.215.14:99999/hook", "invalid port"),
        ("https://93.184.215.14/ho ok", "whitespace"),
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is in the denied network 127.0.0.0/8"),
        ("http://localhost/hook", "denied network"),
        ("http://[::1]/hook", "::1 is in the denied network"),
        ("http://10.0.0.5:8080/x", "10.0.0.5 is in the denied network 10.0.0.0/8"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://[64:ff9b::c0a8:101]/", r"reaching 192\.168\.1\.1"),
    ],
)
def test_refused_urls_say_why_to_operators(url, reason):
    with pytest.raises(WebhookUrlRefused, match=reason):
        url_check(url)


@pytest.mark.parametrize("url", ["https://93.184.215.14/hook", "http://8.8.8.8:8080/x?y=1", "HTTPS://[2606:4700::1]/h"])
def test_acceptable_urls_pass(url):
    url_check(url)


def test_a_host_that_does_not_resolve_is_its_own_error():
    with pytest.raises(WebhookHostUnresolvable, match="does not resolve"):
        url_check("https://no-such-host.invalid/hook")
