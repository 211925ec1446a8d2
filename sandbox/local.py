"""The sandbox served in-process on an ephemeral port, for tests and scripts.

Uses the stdlib's threading WSGI server (no gunicorn), a key prefix of its own in Redis, and
removes its keys on exit, so test modules can each run one without interfering.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sandbox.app import SandboxApp
from sandbox.callbacks import CallbackSender
from sandbox.client import SandboxClient
from sandbox.config import SandboxConfig
from sandbox.state import SandboxState


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Tests do not want an access log line per request."""


class LocalSandbox:
    """``with LocalSandbox() as sandbox: sandbox.client.set_behaviour(...); sandbox.url ...``

    ``senders`` callback senders run against the shared schedule (0: none, so a test drives
    them itself; 2: proves one callback is posted once however many senders claim).
    """

    def __init__(self, config: SandboxConfig | None = None, *, senders: int = 1, **overrides: Any) -> None:
        base = config or SandboxConfig.from_env()
        if "key_prefix" not in overrides and config is None:
            overrides["key_prefix"] = f"sandbox-test-{uuid.uuid4().hex[:12]}:"
        self.config = replace(base, **overrides)
        self.app = SandboxApp(self.config, autostart_sender=False)
        self.senders = [
            CallbackSender(self.app.state, self.app.providers, self.config, name=f"sandbox-callbacks-{n}")
            for n in range(senders)
        ]
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.client: SandboxClient | None = None

    @property
    def state(self) -> SandboxState:
        return self.app.state

    def start(self) -> LocalSandbox:
        self._server = make_server(
            "127.0.0.1", 0, self.app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-wsgi", daemon=True)
        self._thread.start()
        for sender in self.senders:
            sender.start()
        self.client = SandboxClient(self.url)
        return self

    def stop(self) -> None:
        for sender in self.senders:
            sender.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.app.state.destroy()

    def __enter__(self) -> LocalSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
