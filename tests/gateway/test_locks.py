"""single_flight: one run at a time per name, a TTL against crashed holders, release only by the owner."""

from __future__ import annotations

import uuid

import pytest

from gateway.locks import single_flight
from gateway.redis import get_redis
from tests.log_capture import captured_json_logs


@pytest.fixture
def name():
    """A lock name of the test's own, removed afterwards (the Redis database is shared by tests)."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    get_redis().delete(f"gw:lock:{name}")


def test_a_free_lock_runs_the_function_holding_the_lock_for_at_most_its_ttl(name):
    seen = {}

    @single_flight(name, ttl_seconds=30)
    def job(value):
        seen["ttl_ms"] = get_redis().pttl(f"gw:lock:{name}")
        return value * 2

    assert job(21) == 42
    assert 0 < seen["ttl_ms"] <= 30_000
    assert not get_redis().exists(f"gw:lock:{name}")  # released after the run


def test_a_held_lock_skips_the_run_without_waiting(name):
    other = get_redis().lock(f"gw:lock:{name}", timeout=30)
    assert other.acquire(blocking=False)
    calls = []

    @single_flight(name, ttl_seconds=30)
    def job():
        calls.append(1)
        return "ran"

    with captured_json_logs() as logs:
        assert job() is None

    assert calls == []
    assert [line["event"] for line in logs.lines()] == [f"{name} skipped: the previous run is still going"]
    assert other.owned()  # the skipped run left the holder's lock alone


def test_a_run_that_outlived_its_ttl_does_not_release_the_next_holders_lock(name):
    key = f"gw:lock:{name}"
    successor = get_redis().lock(key, timeout=30)

    @single_flight(name, ttl_seconds=30)
    def job():
        get_redis().delete(key)  # the TTL ran out mid-run ...
        assert successor.acquire(blocking=False)  # ... and the next run took the lock over
        return "done"

    with captured_json_logs() as logs:
        assert job() == "done"

    assert successor.owned()
    assert [line["event"] for line in logs.lines()] == [
        f"{name} outlived its 30 s lock; the next run may have overlapped it"
    ]


def test_a_failing_run_releases_the_lock(name):
    @single_flight(name, ttl_seconds=30)
    def job():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        job()
    assert not get_redis().exists(f"gw:lock:{name}")
