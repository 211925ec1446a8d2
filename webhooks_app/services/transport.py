"""The HTTP session webhook deliveries go out on.

Checking a URL's addresses and then letting ``requests`` resolve the host again leaves a gap a
DNS-rebinding receiver can use: answer a public address to the check and 169.254.169.254 to the
connect. Here the check happens where the socket is opened: the connection resolves the host
once, refuses if any address is denied, and connects to the address it checked. TLS still
verifies the certificate against the host name.

The session is per process (rebuilt after a fork, since forked children must not share sockets),
pooled for keep-alive to busy receivers, ignores proxy environment variables (a proxy would connect
on our behalf and bypass the check) and never retries on its own: retries are the outbox's job.
"""

from __future__ import annotations

import os
import socket
import threading

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from webhooks_app.services.url_safety import WebhookHostUnresolvable, checked_addresses


class _CheckedConnectMixin:
    """Replaces urllib3's ``_new_conn`` with resolve -> check -> connect to the checked address."""

    host: str
    port: int
    timeout: float | None
    source_address: tuple[str, int] | None
    socket_options: list | None
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        try:
            addresses = checked_addresses(self._dns_host, self.port)
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


class CheckedHTTPConnection(_CheckedConnectMixin, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnectMixin, HTTPSConnection):
    pass


class CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
        self.poolmanager.pool_classes_by_scheme = {
            "http": CheckedHTTPConnectionPool,
            "https": CheckedHTTPSConnectionPool,
        }


_lock = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None


def _build_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    pool_size = int(getattr(settings, "WEBHOOK_POOL_SIZE", 32))
    adapter = CheckedAdapter(pool_connections=32, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def webhook_session() -> requests.Session:
    """This process's delivery session (a fresh one in a forked child)."""
    global _session, _session_pid
    pid = os.getpid()
    if _session is None or _session_pid != pid:
        with _lock:
            if _session is None or _session_pid != pid:
                _session, _session_pid = _build_session(), pid
    return _session
