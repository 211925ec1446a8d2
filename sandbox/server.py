"""Serving the sandbox under gunicorn's gthread worker from inside the Django process.

Keep-alive matters: the gateway's pooled sessions reuse connections, and a benchmark pushing
thousands of sends a second must not pay a TCP handshake per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication


def _post_worker_init(worker: Any) -> None:
    """Each worker posts callbacks itself: threads started in the master would not survive the fork."""
    start = getattr(worker.wsgi, "start_background", None)
    if start is not None:
        start()


def _worker_exit(server: Any, worker: Any) -> None:
    stop = getattr(getattr(worker, "wsgi", None), "stop_background", None)
    if stop is not None:
        stop(timeout=2.0)


def gunicorn_options(
    *, host: str = "127.0.0.1", port: int = 8025, workers: int = 2, threads: int = 16, log_level: str = "info"
) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "keepalive": 30,
        "worker_connections": 2000,
        "backlog": 2048,
        # A "timeout" behaviour hangs a request thread on purpose; the worker itself is fine.
        "timeout": 180,
        "graceful_timeout": 10,
        "loglevel": log_level,
        "accesslog": None,
        "errorlog": "-",
        "proc_name": "gateway-sandbox",
        "control_socket_disable": True,  # one path per user otherwise, shared with the web's gunicorn
        "post_worker_init": _post_worker_init,
        "worker_exit": _worker_exit,
    }


class SandboxServer(BaseApplication):
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        from sandbox.app import application

        return application
