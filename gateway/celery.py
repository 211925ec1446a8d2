"""The Celery application: Redis broker, tasks discovered from the Django apps."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

app = Celery("gateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _fresh_http_pool(**_: object) -> None:
    """A forked worker child must not share the parent's provider sockets."""
    from channels_app.adapters.http import reset_pooled_session

    reset_pooled_session()
