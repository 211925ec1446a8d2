"""Which customer-supplied URLs the gateway is willing to call (webhooks, files it must probe).

A customer chooses the URL, so without a check the gateway would connect wherever it is told:
to the cloud metadata service, to loopback admin ports, to the private network it runs in. The
rules: http/https only, no credentials in the URL, and every address the host resolves to must
pass the address policy.

Address policy (settings read on every call, so a change applies without a restart):

* Refused by default: every address that is not globally routable (``ipaddress.is_global``)
  plus the explicit ``BUILTIN_DENIED_NETWORKS`` (which also covers what older Pythons call
  global) plus ``WEBHOOK_DENIED_NETWORKS`` (added to the built-in list, never replacing it).
* Addresses that carry an IPv4 address inside an IPv6 one (IPv4-mapped ``::ffff:a.b.c.d``,
  IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the
  IPv4 address they reach, so ``64:ff9b::a00:1`` is 10.0.0.1.
* ``WEBHOOK_ALLOWED_NETWORKS`` (operator, global) and a customer's own
  ``webhook_allowed_networks`` (set by staff) allow ranges that would be refused, because
  internal teams' receivers on private networks are the normal case. They win over the deny
  lists, but never over the cloud metadata addresses (``NEVER_ALLOWED_NETWORKS``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Special-purpose ranges (IANA registries). Most are already not ``is_global``; listing them keeps
# the policy the same on every Python version (3.11 still calls some of them global).
BUILTIN_DENIED_NETWORKS: tuple[str, ...] = (
    "0.0.0.0/8",  # "this network": 0.0.0.0 reaches loopback on Linux
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # carrier-grade NAT (Alibaba metadata 100.100.100.200 is inside)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (AWS/GCP/Azure metadata 169.254.169.254 is inside)
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation
    "192.88.99.0/24",  # 6to4 relay anycast
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",  # documentation
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, broadcast
    "::/128",  # unspecified
    "::1/128",  # loopback
    "100::/64",  # discard
    "2001::/32",  # Teredo: the IPv4 it tunnels to cannot be checked
    "2001:db8::/32",  # documentation
    "64:ff9b:1::/48",  # local-use NAT64: its IPv4 sits at a prefix-dependent place
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated, still routed by some stacks)
    "ff00::/8",  # multicast
)
# Cloud metadata services: no allow-list opens these, a receiver never lives there.
NEVER_ALLOWED_NETWORKS: tuple[str, ...] = (
    "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack
    "169.254.170.2/32",  # AWS ECS task metadata
    "fd00:ec2::254/128",  # AWS over IPv6
    "100.100.100.200/32",  # Alibaba Cloud
)
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
SCHEMES = ("http", "https")


class WebhookUrlRefused(ValueError):
    """The URL breaks the policy; retrying cannot help until the URL or the policy changes.

    The message is for operators (it names the address); customers get ``PUBLIC_REFUSAL``.
    """


class WebhookHostUnresolvable(ValueError):
    """The host did not resolve; DNS can recover, so a delivery retries this."""


PUBLIC_REFUSAL = (
    "The URL's host resolves to an address the gateway does not call (private, loopback, link-local, "
    "reserved or cloud metadata). Ask the operator to allow your receiver's network."
)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs to networks; a bad entry raises ``ValueError`` (configuration errors fail loudly)."""
    return tuple(ipaddress.ip_network(str(value).strip(), strict=False) for value in values if str(value).strip())


@dataclass(frozen=True)
class AddressPolicy:
    """The networks one caller may reach beyond the global internet, and the extra denials.

    Hashable, so connection pools can be kept per policy: a socket opened under one customer's
    allowances is never reused for another customer's request.
    """

    allowed: tuple[IPNetwork, ...] = ()
    denied: tuple[IPNetwork, ...] = ()


def address_policy(extra_allowed: Iterable[str] = ()) -> AddressPolicy:
    """The operator's policy from settings, plus a customer's own allowed networks."""
    allowed = parse_networks([*settings.WEBHOOK_ALLOWED_NETWORKS, *extra_allowed])
    denied = parse_networks(settings.WEBHOOK_DENIED_NETWORKS)
    return AddressPolicy(allowed=tuple(sorted(set(allowed), key=str)), denied=tuple(sorted(set(denied), key=str)))


_BUILTIN_DENIED = parse_networks(BUILTIN_DENIED_NETWORKS)
_NEVER_ALLOWED = parse_networks(NEVER_ALLOWED_NETWORKS)


def parse_address(address: str | IPAddress) -> IPAddress:
    if isinstance(address, str):
        address = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id (fe80::1%eth0)
    return address


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through a translation or tunnel form, if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in IPV4_COMPATIBLE and int(ip) > 1:  # ::a.b.c.d (deprecated), not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _in_any(ip: IPAddress, networks: Iterable[IPNetwork]) -> IPNetwork | None:
    return next((net for net in networks if ip.version == net.version and ip in net), None)


def address_refusal(address: str | IPAddress, policy: AddressPolicy | None = None) -> str | None:
    """Why the gateway must not connect to ``address`` (for operators), or ``None`` when it may."""
    policy = policy if policy is not None else address_policy()
    ip = parse_address(address)
    inner = embedded_ipv4(ip)
    target = inner or ip
    shown = f"{ip} (reaching {inner})" if inner else str(ip)
    for candidate in (ip, target):
        metadata = _in_any(candidate, _NEVER_ALLOWED)
        if metadata:
            return f"{shown} is a cloud metadata address ({metadata})"
    if _in_any(target, policy.allowed):
        return None
    denied = _in_any(target, _BUILTIN_DENIED) or _in_any(target, policy.denied)
    if denied:
        return f"{shown} is in the denied network {denied}"
    if not target.is_global:
        return f"{shown} is not a globally routable address"
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
        ip = parse_address(str(info[4][0]))
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def checked_addresses(host: str, port: int, policy: AddressPolicy | None = None) -> list[IPAddress]:
    """The addresses of ``host``; refused if ANY of them is denied, so DNS round-robin cannot
    smuggle a denied address in next to an allowed one."""
    policy = policy if policy is not None else address_policy()
    addresses = resolve(host, port)
    for ip in addresses:
        reason = address_refusal(ip, policy)
        if reason:
            raise WebhookUrlRefused(f"The host {host} resolves to a refused address: {reason}.")
    return addresses


def url_check(url: str, policy: AddressPolicy | None = None) -> None:
    """Refuse a URL the gateway must not call (``WebhookUrlRefused``) or cannot resolve now
    (``WebhookHostUnresolvable``)."""
    parts = url_parts(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    checked_addresses(parts.hostname or "", port, policy)
