"""Which webhook URLs the gateway is willing to call.

A customer chooses the URL, so without a check the delivery worker would POST wherever it is
told: to the cloud metadata service, to loopback admin ports, to link-local devices. The rules:
http/https only, no credentials in the URL, and every address the host resolves to must pass the
network policy. Customers' internal apps often live on private addresses, so private ranges are
allowed unless an operator denies them.

Policy (settings read on every call, so a change applies without a restart):
* ``WEBHOOK_ALLOWED_NETWORKS``: CIDRs always allowed; they win over the deny list.
* ``WEBHOOK_DENIED_NETWORKS``: CIDRs refused. Unset (``None``) means loopback, unspecified,
  link-local and cloud metadata addresses when DEBUG is off, and nothing in DEBUG so a receiver
  on localhost works in development.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DENIED_NETWORKS: tuple[str, ...] = (
    "127.0.0.0/8",  # loopback
    "::1/128",
    "0.0.0.0/8",  # "this host": connecting to 0.0.0.0 reaches loopback on Linux
    "::/128",
    "169.254.0.0/16",  # link-local (includes 169.254.169.254, the AWS/GCP/Azure metadata service)
    "fe80::/10",
    "169.254.169.254/32",  # cloud metadata, listed on its own so it survives a narrowed range list
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
)
SCHEMES = ("http", "https")


class WebhookUrlRefused(ValueError):
    """The URL breaks the policy; retrying cannot help until the URL or the policy changes."""


class WebhookHostUnresolvable(ValueError):
    """The host did not resolve; DNS can recover, so a delivery retries this."""


def _parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(str(value).strip(), strict=False) for value in values if str(value).strip()]


def allowed_networks() -> list[IPNetwork]:
    return _parse_networks(getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", None) or ())


def denied_networks() -> list[IPNetwork]:
    configured = getattr(settings, "WEBHOOK_DENIED_NETWORKS", None)
    if configured is None:
        configured = () if settings.DEBUG else DEFAULT_DENIED_NETWORKS
    return _parse_networks(configured)


def _normalise(address: str | IPAddress) -> IPAddress:
    if isinstance(address, str):
        address = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id (fe80::1%eth0)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 to the kernel
    return address


def address_refusal(address: str | IPAddress) -> str | None:
    """Why the gateway must not connect to ``address``, or ``None`` when it may."""
    ip = _normalise(address)
    if any(ip.version == net.version and ip in net for net in allowed_networks()):
        return None
    for net in denied_networks():
        if ip.version == net.version and ip in net:
            return f"{ip} is in the denied network {net}"
    return None


def url_parts(url: str) -> SplitResult:
    """The URL split and checked for the static rules (scheme, credentials, host, port)."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise WebhookUrlRefused("The URL must not be empty or contain whitespace or control characters.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise WebhookUrlRefused("Only http and https URLs are accepted.")
    if "@" in parts.netloc:
        raise WebhookUrlRefused("Credentials in the URL are not accepted; verify the webhook signature instead.")
    if not parts.hostname:
        raise WebhookUrlRefused("The URL has no host.")
    try:
        parts.port  # noqa: B018 - raises on a malformed or out-of-range port
    except ValueError as exc:
        raise WebhookUrlRefused(f"The URL has an invalid port: {exc}.") from None
    return parts


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself without DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookHostUnresolvable(f"The host {host} does not resolve: {exc}.") from None
    addresses: list[IPAddress] = []
    for info in infos:
        ip = _normalise(str(info[4][0]))
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host``; refused if ANY of them is denied, so DNS round-robin cannot
    smuggle a denied address in next to an allowed one."""
    addresses = resolve(host, port)
    for ip in addresses:
        reason = address_refusal(ip)
        if reason:
            raise WebhookUrlRefused(f"The host {host} resolves to a refused address: {reason}.")
    return addresses


def url_check(url: str) -> None:
    """Refuse a URL the gateway must not call (``WebhookUrlRefused``) or cannot resolve now
    (``WebhookHostUnresolvable``)."""
    parts = url_parts(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    checked_addresses(parts.hostname or "", port)
