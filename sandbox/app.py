"""The sandbox's WSGI application: route by the providers' real paths, plus ``/_sandbox/``.

``application`` is built from the environment at import, which is what gunicorn (through
``run_sandbox``) loads in each worker. The callback sender is started once per process: by the
gunicorn ``post_worker_init`` hook, or lazily on the first request under any other server.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.callbacks import CallbackSender
from sandbox.config import SandboxConfig
from sandbox.control import ControlApi
from sandbox.providers import build_providers
from sandbox.state import SandboxState
from sandbox.web import Request, Response, json_response

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
_GRAPH_VERSION = re.compile(r"^v\d+(\.\d+)?$")


class SandboxApp:
    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        state: SandboxState | None = None,
        autostart_sender: bool = True,
    ) -> None:
        self.config = config or SandboxConfig.from_env()
        self.state = state or SandboxState(self.config)
        self.providers = build_providers(self.state, self.config)
        self.control = ControlApi(self.state, self.providers, self.config)
        self.autostart_sender = autostart_sender
        self._sender: CallbackSender | None = None
        self._sender_pid: int | None = None
        self._sender_lock = threading.Lock()

    # ---- background sender -----------------------------------------------------------------

    def start_background(self) -> CallbackSender:
        """Start this process's callback sender (again after a fork: threads do not survive one)."""
        with self._sender_lock:
            pid = os.getpid()
            if self._sender is None or self._sender_pid != pid or not self._sender.running:
                self._sender = CallbackSender(self.state, self.providers, self.config)
                self._sender.start()
                self._sender_pid = pid
            return self._sender

    def stop_background(self, timeout: float = 5.0) -> None:
        with self._sender_lock:
            if self._sender is not None and self._sender_pid == os.getpid():
                self._sender.stop(timeout)
            self._sender = None
            self._sender_pid = None

    # ---- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.autostart_sender and self._sender_pid != os.getpid():
            self.start_background()
        request = Request(environ)
        try:
            response = self.route(request)
        except Exception:
            logger.exception("sandbox failed on %s %s", request.method, request.path)
            response = json_response(500, {"error": "sandbox internal error"})
        start_response(response.status_line, response.headers)
        return [response.body]

    def route(self, request: Request) -> Response:
        segments = request.path.strip("/").split("/")
        head = segments[0]
        if head == "_sandbox":
            return self.control.handle(request, segments[1:])
        if head in ("sms", "smsbulk", "sms.json", "smsbulk.json"):
            return self.providers["sms"].handle(request, segments)
        if head == "pa":
            return self.providers["viber"].handle(request, segments)
        if head == "viber":
            return self.providers["viber_business"].handle(request, segments)
        if head == "token" or (head == "v1" and len(segments) > 1 and segments[1] == "conversations"):
            return self.providers["gbm"].handle(request, segments)
        if head.startswith("bot"):
            return self.providers["telegram"].handle(request, segments)
        if _GRAPH_VERSION.match(head):
            return self.providers["whatsapp"].handle(request, segments)
        if head == "" and request.method == "GET":
            return json_response(200, {"sandbox": "gateway provider sandbox", "control": "/_sandbox/"})
        return json_response(404, {"error": f"no sandbox endpoint for {request.method} {request.path}"})


application = SandboxApp()
