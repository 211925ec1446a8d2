"""The whole pipeline in one process: the API (live server), a real Celery worker on the real
Redis broker, and the provider sandbox calling back. Tests here use real transactions."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import pytest
from celery.contrib.testing.worker import start_worker

from gateway.celery import app as celery_app
from sandbox.local import LocalSandbox

QUEUES = ["default", "dispatch_priority", "dispatch", "webhooks", "housekeeping"]


def _purge_queues() -> None:
    """Tasks left in the test broker by earlier tests name rows that no longer exist."""
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in QUEUES:
            # A queue that was never declared is already empty.
            with contextlib.suppress(Exception):
                channel.queue_purge(queue)


@pytest.fixture
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox(report_delay=0.05, senders=2) as running:
        yield running


@pytest.fixture
def gateway_url(live_server, settings) -> str:
    """Callbacks from the sandbox reach this live gateway."""
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[None]:
    _purge_queues()
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=8,
        perform_ping_check=False,
        queues=QUEUES,
        loglevel="WARNING",
        shutdown_timeout=30,
    ):
        yield


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
    describe: Callable[[], object] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    state = f": {describe()}" if describe else ""
    raise AssertionError(f"condition not met within {timeout} s{state}")
