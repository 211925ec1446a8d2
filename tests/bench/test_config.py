from __future__ import annotations

import pytest

from bench.config import BenchConfig, ConfigError, bench_database_url, bench_redis_url


def test_urls_are_derived_from_the_developer_ones() -> None:
    environ = {"DATABASE_URL": "postgres://u:p@db:5432/gateway", "REDIS_URL": "redis://cache:6379/0"}

    assert bench_database_url(environ) == "postgres://u:p@db:5432/gateway_bench"
    assert bench_redis_url(environ) == "redis://cache:6379/4"


def test_a_database_without_bench_in_its_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="bench"):
        bench_database_url({"BENCH_DATABASE_URL": "postgres://u:p@db/gateway"})


@pytest.mark.parametrize("db", ["0", "1"])
def test_the_redis_dbs_of_make_run_and_make_test_are_refused(db: str) -> None:
    with pytest.raises(ConfigError):
        bench_redis_url({"BENCH_REDIS_URL": f"redis://cache:6379/{db}"})


def test_the_stack_runs_without_debug_with_random_secrets_and_its_own_addresses() -> None:
    environ = {"DEBUG": "true", "CELERY_BROKER_URL": "redis://elsewhere/0", "BENCH_WEB_PORT": "0"}
    first = BenchConfig.from_env(quick=True, run_id="r1", environ=environ)
    second = BenchConfig.from_env(quick=True, run_id="r2", environ=environ)

    env = first.stack_env(environ)

    assert env["DEBUG"] == "false"
    assert "CELERY_BROKER_URL" not in env
    assert env["PUBLIC_BASE_URL"] == first.web_url == f"http://127.0.0.1:{first.web_port}"
    assert env["WEBHOOK_ALLOWED_NETWORKS"] == "127.0.0.0/8"  # the webhook receiver in the fake provider
    for name in ("SECRET_KEY", "JWT_SIGNING_KEY", "MITTO_DLR_SIGNING_KEYS", "MITTO_INBOUND_SIGNING_KEYS"):
        assert len(env[name]) >= 32
        assert env[name] != second.stack_env(environ)[name]
    assert env["SECRET_KEY"] != env["JWT_SIGNING_KEY"]
    assert first.web_port != first.provider_port


def test_quick_mode_caps_waits_and_full_mode_does_not() -> None:
    quick = BenchConfig.from_env(quick=True, run_id="q", environ={}).sizes
    full = BenchConfig.from_env(quick=False, run_id="f", environ={}).sizes

    assert quick.wait_bound(500) == 25
    assert full.wait_bound(500) == 500
    assert (quick.runs, full.runs) == (1, 3)
