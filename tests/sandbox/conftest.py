"""A real sandbox per test module (threaded WSGI server, own Redis key prefix) and a receiver
standing in for the gateway's callback endpoints."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass(frozen=True)
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A tiny HTTP server recording every POST; can be told to fail the next N with a status."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._failures: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                with receiver._lock:
                    status = receiver._failures.pop(0) if receiver._failures else 200
                    receiver.received.append(Received(
                        path=parts.path, query=dict(parse_qsl(parts.query)),
                        headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                    ))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._failures.clear()

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} callbacks, received {len(self.received)}")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox(report_delay=0.05, callback_backoff=0.05, callback_attempts=3, default_hang=2.0) as running:
        yield running


@pytest.fixture
def control(sandbox: LocalSandbox) -> SandboxClient:
    """The control client, on a sandbox emptied of the previous test's state."""
    assert sandbox.client is not None
    sandbox.client.reset()
    return sandbox.client


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


@pytest.fixture
def inbox(receiver: Receiver) -> Receiver:
    receiver.clear()
    return receiver


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
