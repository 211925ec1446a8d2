"""A tiny keep-alive HTTP server that records what it receives (for the load generators and the
fake provider's reports), and the fake provider itself, started as the benchmark starts it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from bench.config import ROOT, pick_port


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, str, bytes]] = []
        self.content_types: list[str] = []
        self.lock = threading.Lock()
        self.status_for: dict[str, int] = {}

    def handle_error(self, request: object, client_address: object) -> None:
        """A load generator closing its kept-alive connections at the end is not an error."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RecordingServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.received.append((self.path, self.headers.get("Authorization", ""), body))
            self.server.content_types.append(self.headers.get("Content-Type", ""))
        status = self.server.status_for.get(self.path, 200)
        payload = b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@dataclass
class FakeProviderProcess:
    url: str
    process: subprocess.Popen[bytes]

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_fake/stats", timeout=5).json()


@pytest.fixture
def fake_provider() -> Iterator[FakeProviderProcess]:
    """``python -m bench.fake_provider`` on a free port, reports after 50 ms."""
    port = pick_port(18900 + os.getpid() % 1000)
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench.fake_provider", "--port", str(port), "--report-delay", "0.05"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{url}/_fake/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("the fake provider did not start")
        yield FakeProviderProcess(url=url, process=process)
    finally:
        process.terminate()
        process.wait(10)
