"""Tasks reuse their database connection as requests do, instead of opening one per task."""

from __future__ import annotations

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from channels_app.tasks import dispatch_messages
from gateway.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _run_task_hooks() -> None:
    """What a worker does around every task: Celery's Django fix-up, then the project's receivers."""
    fixup = DjangoWorkerFixup(app)
    for hook, signal in ((fixup.on_task_prerun, task_prerun), (fixup.on_task_postrun, task_postrun)):
        hook(sender=dispatch_messages)
        signal.send(sender=dispatch_messages, task_id="t", task=dispatch_messages, args=(), kwargs={})


def test_consecutive_tasks_share_one_postgresql_backend():
    before = _backend_pid()

    for _ in range(3):
        _run_task_hooks()

    assert connection.connection is not None
    assert _backend_pid() == before


def test_a_connection_past_its_max_age_is_replaced_between_tasks(settings):
    before = _backend_pid()
    connection.close_at = 0  # what CONN_MAX_AGE sets once the connection is old enough

    _run_task_hooks()

    assert _backend_pid() != before


def test_a_broken_connection_is_replaced_between_tasks():
    before = _backend_pid()
    connection.errors_occurred = True
    connection.connection.close()  # as when PostgreSQL restarted under the worker

    _run_task_hooks()

    assert _backend_pid() != before
