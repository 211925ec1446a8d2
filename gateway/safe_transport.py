"""The HTTP sessions that call customer-supplied URLs (webhook deliveries, file probes).

Checking a URL's addresses and then letting ``requests`` resolve the host again leaves a gap a
DNS-rebinding receiver can use: answer a public address to the check and 169.254.169.254 to the
connect. Here the check happens where the socket is opened: the connection resolves the host
once, refuses if any address is denied, and connects to the address it checked. TLS still
verifies the certificate against the host name.

There is one session per address policy and process (rebuilt after a fork, since forked children
must not share sockets): a connection opened under one customer's allowed private networks is
never reused for another customer's request. Sessions are pooled for keep-alive to busy receivers,
ignore proxy environment variables (a proxy would connect on our behalf and bypass the check),
keep no cookies (one receiver must not see another's) and never retry on their own: retries are
the outbox's job. Callers pass ``allow_redirects=False``: a redirect would skip the URL check.
"""

from __future__ import annotations

import os
import socket
import threading

import requests
from cachetools import LRUCache
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from gateway.cookies import RejectAllCookies
from gateway.url_safety import (
    AddressPolicy,
    WebhookHostUnresolvable,
    address_policy,
    checked_addresses,
)


class _CheckedConnectMixin:
    """Replaces urllib3's ``_new_conn`` with resolve -> check -> connect to the checked address."""

    host: str
    port: int
    timeout: float | None
    source_address: tuple[str, int] | None
    socket_options: list | None
    _dns_host: str
    address_policy: AddressPolicy = AddressPolicy()

    def _new_conn(self) -> socket.socket:
        try:
            addresses = checked_addresses(self._dns_host, self.port, self.address_policy)
        except WebhookHostUnresolvable as exc:
            raise NameResolutionError(self.host, self, socket.gaierror(str(exc))) from None  # type: ignore[arg-type]
        last_error: OSError | None = None
        for ip in addresses:
            try:
                return connection.create_connection(
                    (str(ip), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from exc
            except OSError as exc:
                last_error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")  # type: ignore[arg-type]


class CheckedAdapter(HTTPAdapter):
    """An adapter whose connections check ``policy`` when they open."""

    def __init__(self, policy: AddressPolicy, **kwargs: object) -> None:
        self.policy = policy
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
        policy = self.policy

        class PolicyHTTPConnection(_CheckedConnectMixin, HTTPConnection):
            address_policy = policy

        class PolicyHTTPSConnection(_CheckedConnectMixin, HTTPSConnection):
            address_policy = policy

        class PolicyHTTPConnectionPool(HTTPConnectionPool):
            ConnectionCls = PolicyHTTPConnection

        class PolicyHTTPSConnectionPool(HTTPSConnectionPool):
            ConnectionCls = PolicyHTTPSConnection

        self.poolmanager.pool_classes_by_scheme = {"http": PolicyHTTPConnectionPool, "https": PolicyHTTPSConnectionPool}


MAX_SESSIONS = 64  # distinct policies kept per process; customers without allowances share one
_lock = threading.Lock()
_sessions: LRUCache[AddressPolicy, requests.Session] = LRUCache(maxsize=MAX_SESSIONS)
_sessions_pid: int | None = None


def _build_session(policy: AddressPolicy) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(RejectAllCookies())
    adapter = CheckedAdapter(policy, pool_connections=32, pool_maxsize=settings.WEBHOOK_POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def safe_session(policy: AddressPolicy | None = None) -> requests.Session:
    """This process's session for ``policy`` (the operator's policy when not given)."""
    global _sessions_pid
    policy = policy if policy is not None else address_policy()
    pid = os.getpid()
    with _lock:
        if _sessions_pid != pid:
            _sessions.clear()
            _sessions_pid = pid
        session = _sessions.get(policy)
        if session is None:
            session = _sessions[policy] = _build_session(policy)
    return session


def webhook_session(policy: AddressPolicy | None = None) -> requests.Session:
    """The session webhook deliveries use (the same safe transport as every customer URL)."""
    return safe_session(policy)
