"""gunicorn settings for the web process (values overridable from the environment)."""

import os

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "3"))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 30
timeout = 60
graceful_timeout = 20
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): the web
# and the sandbox of one `make run`, and every other checkout on the machine, would take it from
# each other and unlink it on exit. Nothing here uses it.
control_socket_disable = True

# gunicorn's own lines (boot, worker exits, timeouts) as JSON too, like everything else.
from gateway.logs import logging_config  # noqa: E402 - after the plain settings above

logconfig_dict = logging_config(os.environ.get("LOG_LEVEL", "INFO"))
logconfig_dict["loggers"].update(
    {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        # The application logs every request with its request id; gunicorn's line only on request.
        "gunicorn.access": {"level": "INFO" if accesslog else "WARNING", "handlers": ["console"], "propagate": False},
    }
)


def child_exit(server: object, worker: object) -> None:
    """A worker that exits leaves its metric files behind; mark them so live gauges drop it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import socket

        from prometheus_client import multiprocess

        # Files are named by host and pid (gateway/metrics.py process_identifier).
        host = socket.gethostname().replace("_", "-") or "host"
        multiprocess.mark_process_dead(f"{host}-{worker.pid}")  # type: ignore[attr-defined]
