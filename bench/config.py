"""What a benchmark run uses: sizes per mode, ports, its own database and Redis db, and the
environment every stack process gets.

The stack must never touch what a developer's ``make run`` or the test suite uses, so the
database, the Redis db and the ports are all separate by default and the database name must
contain ``bench`` (it is dropped and recreated at every run).
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
LUA_DIR = BENCH_DIR / "lua"
RESULTS_DIR = BENCH_DIR / "results"

DEFAULT_DATABASE_URL = "postgres://gateway:gateway@127.0.0.1:25432/gateway"
DEFAULT_REDIS_URL = "redis://127.0.0.1:26379/0"
BENCH_DATABASE_NAME = "gateway_bench"
BENCH_REDIS_DB = 4
# Redis dbs that belong to `make run` (0) and `make test` (1): never the benchmark's.
RESERVED_REDIS_DBS = frozenset({0, 1})


class ConfigError(ValueError):
    """A configuration that would make the benchmark touch someone else's data."""


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does; quick mode keeps the whole run around five minutes."""

    runs: int
    send_seconds: int
    send_concurrency: tuple[int, ...]
    bulk_sizes: tuple[int, ...]
    e2e_messages: int
    e2e_chunk: int
    dlr_callbacks: int
    dlr_concurrency: int
    failover_chains: int
    failover_chunk: int
    failover_timeout_seconds: int
    webhook_messages: int
    # Longest wait for a pipeline to finish (end to end, report ingest, failover). Quick mode
    # caps it so the whole run stays around five minutes even on a loaded machine: a run cut
    # short reports the rate it reached and says it is incomplete.
    max_wait_seconds: float | None = None

    def wait_bound(self, natural: float) -> float:
        return natural if self.max_wait_seconds is None else min(natural, self.max_wait_seconds)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            runs=1,
            send_seconds=5,
            send_concurrency=(1, 16, 64),
            bulk_sizes=(10_000,),
            e2e_messages=5_000,
            e2e_chunk=10_000,
            dlr_callbacks=5_000,
            dlr_concurrency=32,
            failover_chains=10_000,
            failover_chunk=2_000,
            failover_timeout_seconds=10,
            webhook_messages=5_000,
            max_wait_seconds=25,
        )

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            runs=3,
            send_seconds=30,
            send_concurrency=(1, 16, 64),
            bulk_sizes=(10_000, 100_000),
            e2e_messages=50_000,
            e2e_chunk=10_000,
            dlr_callbacks=50_000,
            dlr_concurrency=32,
            failover_chains=100_000,
            failover_chunk=10_000,
            failover_timeout_seconds=30,
            webhook_messages=50_000,
        )


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def bench_database_url(environ: dict[str, str]) -> str:
    """``BENCH_DATABASE_URL``, else ``DATABASE_URL`` with the database renamed ``gateway_bench``."""
    url = environ.get("BENCH_DATABASE_URL") or _with_path(
        environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, f"/{BENCH_DATABASE_NAME}"
    )
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise ConfigError(f"the benchmark drops and recreates its database: {name!r} must contain 'bench'")
    return url


def bench_redis_url(environ: dict[str, str]) -> str:
    """``BENCH_REDIS_URL``, else ``REDIS_URL`` pointed at db 4."""
    url = environ.get("BENCH_REDIS_URL") or _with_path(
        environ.get("REDIS_URL") or DEFAULT_REDIS_URL, f"/{BENCH_REDIS_DB}"
    )
    db = urlsplit(url).path.lstrip("/") or "0"
    if not db.isdigit() or int(db) in RESERVED_REDIS_DBS:
        raise ConfigError(f"Redis db {db!r} belongs to make run / make test; give the benchmark its own")
    return url


def _env_int(environ: dict[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    return int(value) if value else default


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(preferred: int, *, avoid: frozenset[int] = frozenset()) -> int:
    """The preferred port when nothing listens there, else one the kernel picks: a second
    benchmark (or anything else) on the default ports must not make this one fail."""
    if preferred not in avoid and port_is_free(preferred):
        return preferred
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in avoid:
            return port
    raise ConfigError("no free TCP port on 127.0.0.1")


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    sizes: Sizes
    database_url: str
    redis_url: str
    web_port: int
    provider_port: int
    web_workers: int
    web_threads: int
    web_worker_class: str
    worker_processes: int
    worker_concurrency: int
    provider_report_delay: float
    provider_senders: int
    run_id: str
    results_dir: Path
    python: str = sys.executable
    secrets_: dict[str, str] = field(default_factory=dict)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def provider_url(self) -> str:
        """The fake Mitto provider (``bench/fake_provider.py``), also the customer's webhook receiver."""
        return f"http://127.0.0.1:{self.provider_port}"

    @property
    def run_dir(self) -> Path:
        """Logs, profiles and load files of this run (reports sit next to it)."""
        return self.results_dir / self.run_id

    def bin(self, name: str) -> str:
        """An executable of the virtualenv the benchmark runs in (gunicorn, celery)."""
        return str(Path(self.python).parent / name)

    @classmethod
    def from_env(
        cls, *, quick: bool, run_id: str, results_dir: Path = RESULTS_DIR, environ: dict[str, str] | None = None,
        runs: int | None = None,
    ) -> BenchConfig:
        environ = dict(os.environ if environ is None else environ)
        sizes = Sizes.quick() if quick else Sizes.full()
        if runs is not None:
            if runs < 1:
                raise ConfigError("--runs must be at least 1")
            sizes = replace(sizes, runs=runs)
        cpus = os.cpu_count() or 2
        web_port = pick_port(_env_int(environ, "BENCH_WEB_PORT", 18000))
        provider_port = pick_port(_env_int(environ, "BENCH_PROVIDER_PORT", 18025), avoid=frozenset({web_port}))
        return cls(
            quick=quick,
            sizes=sizes,
            database_url=bench_database_url(environ),
            redis_url=bench_redis_url(environ),
            web_port=web_port,
            provider_port=provider_port,
            web_workers=_env_int(environ, "WEB_WORKERS", 3),
            web_threads=_env_int(environ, "WEB_THREADS", 4),
            web_worker_class=environ.get("WEB_WORKER_CLASS") or "gthread",
            worker_processes=_env_int(environ, "BENCH_WORKER_PROCESSES", max(1, cpus // 2)),
            worker_concurrency=_env_int(environ, "WORKER_CONCURRENCY", 32),
            provider_report_delay=float(environ.get("BENCH_REPORT_DELAY") or 0.05),
            provider_senders=_env_int(environ, "BENCH_REPORT_CONNECTIONS", 8),
            run_id=run_id,
            results_dir=results_dir,
            # Random per run: DEBUG is off (Django keeps every query in memory with it on) and
            # settings refuse the development defaults then.
            secrets_={
                "SECRET_KEY": secrets.token_urlsafe(48),
                "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
                "MITTO_DLR_SIGNING_KEYS": secrets.token_urlsafe(48),
                "MITTO_INBOUND_SIGNING_KEYS": secrets.token_urlsafe(48),
            },
        )

    def stack_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of every stack process, and of this process once Django loads."""
        env = dict(os.environ if base is None else base)
        for name in ("CELERY_BROKER_URL", "SANDBOX_REDIS_URL", "TEST_DATABASE_NAME"):
            env.pop(name, None)
        env.update(self.secrets_)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "gateway.settings",
                "DEBUG": "false",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "PUBLIC_BASE_URL": self.web_url,
                "BIND_HOST": "127.0.0.1",
                "PORT": str(self.web_port),
                "WEB_WORKERS": str(self.web_workers),
                "WEB_THREADS": str(self.web_threads),
                "WEB_WORKER_CLASS": self.web_worker_class,
                # The customer's webhook receiver lives in the fake provider, on loopback.
                "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
                "LOG_LEVEL": env.get("BENCH_LOG_LEVEL", "WARNING"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def describe(self) -> dict[str, object]:
        """What the report records about the set-up (no secrets)."""
        return {
            "mode": "quick" if self.quick else "full",
            "runs_per_case": self.sizes.runs,
            "web": {"workers": self.web_workers, "threads": self.web_threads, "worker_class": self.web_worker_class},
            "celery": {"processes": self.worker_processes, "pool": "threads", "concurrency": self.worker_concurrency},
            "provider": {"kind": "bench/fake_provider.py", "report_delay_seconds": self.provider_report_delay,
                         "report_connections": self.provider_senders},
            "database": urlsplit(self.database_url).path.lstrip("/"),
            "redis_db": urlsplit(self.redis_url).path.lstrip("/"),
            "ports": {"web": self.web_port, "provider": self.provider_port},
        }
