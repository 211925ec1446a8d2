"""``/metrics`` in Prometheus text format, for operator networks only.

API customers reach the same port, so the view answers only addresses in
METRICS_ALLOWED_NETWORKS (loopback by default) and everyone else gets the same 404 as any
unknown path: the endpoint does not exist for them. The address is the TCP peer's
(``REMOTE_ADDR``): behind a proxy, allow the scraper's path, not the proxy's.
"""

from __future__ import annotations

import functools
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

import gateway.metrics  # noqa: F401 - registers every instrument, so each shows from the first scrape
from gateway.problems import not_found_view

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _allowed_networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(network.strip(), strict=False) for network in networks if network.strip())


def metrics_allowed(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in network for network in _allowed_networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def _registry() -> CollectorRegistry:
    """Every process's values when they share a directory (make run), else this process's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request.META.get("REMOTE_ADDR")):
        return not_found_view(request)
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
