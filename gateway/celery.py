"""The Celery application: Redis broker, tasks discovered from the Django apps."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from gateway import request_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

app = Celery("gateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fix-up closes every database connection before and after each task unless this
# is set, so each dispatch chunk, sweep and webhook delivery paid for a new PostgreSQL backend
# (about 6.5 ms here, more than the chunk's own statements; docs/benchmarks.md). Connections are
# instead kept for DB_CONN_MAX_AGE and checked around every task as Django does around requests.
app.conf.update(CELERY_DB_REUSE_MAX=10**9)
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(sender: object = None, **_: object) -> None:
    """Drop connections that are broken or older than CONN_MAX_AGE, as a request's start and end
    do. Not for a task run eagerly: it runs inside its caller's transaction."""
    from django.db import close_old_connections

    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


@setup_logging.connect
def _django_logging(**_: object) -> None:
    """Workers and beat log like the web: Django's LOGGING (JSON lines, gateway/logs.py) instead of
    Celery's own handlers, whose plain text would also bypass the redaction of secrets."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# The request id travels with the tasks a request publishes (gateway/request_context.py).
before_task_publish.connect(request_context.on_before_task_publish, weak=False)
task_prerun.connect(request_context.on_task_prerun, weak=False)
task_postrun.connect(request_context.on_task_postrun, weak=False)
