"""Start and stop the benchmark's own stack: the fake provider, gunicorn web, Celery worker(s) and beat.

Every process runs in a session of its own, so stopping it signals its whole process group
(gunicorn workers, Celery pool threads) and nothing else on the machine. ``stop``
is idempotent and is called from ``finally`` and the signal handlers, so the stack goes away
on success, on error and on Ctrl-C alike.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import requests

from bench import procinfo
from bench.config import ROOT, BenchConfig

logger = logging.getLogger("bench.stack")

START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 20.0
CELERY_QUEUES = ("default", "dispatch_priority", "dispatch", "webhooks", "housekeeping")
WORK_QUEUES = ("default", "dispatch_priority", "dispatch", "webhooks")


class StackError(RuntimeError):
    """The stack could not be started: the only failure that makes the benchmark exit non-zero."""


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise StackError(f"{self.name} is not running")
        return self.popen.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        logger.info("starting %s: %s", self.name, " ".join(self.argv))
        self.popen = subprocess.Popen(  # noqa: S603 - our own executables and arguments
            self.argv, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tree(self) -> list[int]:
        """The process and everything below it."""
        if not self.alive():
            return []
        return [self.pid, *procinfo.descendants(self.pid)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def signal_group(self, signum: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %.0f s: killing it", self.name, timeout)
        # Stragglers of the group (a gunicorn worker that outlived its master) go too.
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None


def _wait_until(what: str, check: Callable[[], bool], processes: list[ManagedProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise StackError(f"{process.name} exited while waiting for {what}:\n{process.log_tail()}")
        try:
            if check():
                return
        except Exception as exc:  # not up yet: connection refused, broker not ready ...
            logger.debug("%s not ready: %s", what, exc)
        time.sleep(0.25)
    tails = "\n".join(f"--- {p.name}\n{p.log_tail()}" for p in processes)
    raise StackError(f"{what} not ready within {timeout:.0f} s\n{tails}")


def _http_ok(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


class Stack:
    """The stack of one benchmark run."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.env = config.stack_env()
        self.log_dir = config.run_dir / "logs"
        self.provider: ManagedProcess | None = None
        self.web: ManagedProcess | None = None
        self.workers: list[ManagedProcess] = []
        self.beat: ManagedProcess | None = None
        # PostgreSQL backends of the benchmark's own connections (polling, samplers).
        self.bench_backends: set[int] = set()

    # ---- dependencies ----------------------------------------------------------------------

    def ensure_services(self) -> None:
        """PostgreSQL and Redis through the project's own script (reused when they answer)."""
        result = subprocess.run(  # noqa: S603 - the project's own script
            ["/bin/bash", str(ROOT / "scripts" / "services.sh")], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=600, check=False,
        )
        if result.returncode != 0:
            raise StackError(f"scripts/services.sh failed:\n{result.stdout}\n{result.stderr}")

    def recreate_database(self) -> None:
        """Drop and create the benchmark database: every run starts from the current migrations
        and an empty table set, whatever an earlier run (or an earlier schema) left."""
        import psycopg
        from psycopg import sql

        parts = urlsplit(self.config.database_url)
        name = parts.path.lstrip("/")
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as connection:
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise StackError(f"cannot recreate database {name}: {exc}") from exc

    def migrate(self) -> None:
        result = subprocess.run(  # noqa: S603 - manage.py of this checkout
            [self.config.python, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=600, check=False,
        )
        if result.returncode != 0:
            raise StackError(f"migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    # ---- processes -------------------------------------------------------------------------

    def _process(self, name: str, argv: list[str]) -> ManagedProcess:
        return ManagedProcess(name=name, argv=argv, env=self.env, log_path=self.log_dir / f"{name}.log")

    def _web_process(self) -> ManagedProcess:
        return self._process(
            "web",
            [self.config.bin("gunicorn"), "gateway.wsgi:application", "--config", "gateway/gunicorn_conf.py"],
        )

    def start(self) -> None:
        cfg = self.config
        self.provider = self._process(
            "provider",
            [cfg.python, "-m", "bench.fake_provider", "--port", str(cfg.provider_port),
             "--report-delay", str(cfg.provider_report_delay), "--senders", str(cfg.provider_senders)],
        )
        self.web = self._web_process()
        self.workers = [
            self._process(
                f"worker{n}",
                [cfg.bin("celery"), "-A", "gateway", "worker", "--loglevel", self.env["LOG_LEVEL"], "--pool", "threads",
                 "--concurrency", str(cfg.worker_concurrency), "--queues", ",".join(WORK_QUEUES),
                 "--hostname", f"{self._worker_name(n)}%h"],
            )
            for n in range(cfg.worker_processes)
        ]
        # Beat's sweepers run on their own worker, as in the Procfile.
        self.workers.append(
            self._process(
                "housekeeping",
                [cfg.bin("celery"), "-A", "gateway", "worker", "--loglevel", self.env["LOG_LEVEL"], "--pool", "threads",
                 "--concurrency", "4", "--queues", "housekeeping",
                 "--hostname", f"{self._worker_name(cfg.worker_processes)}%h"],
            )
        )
        self.beat = self._process(
            "beat",
            [cfg.bin("celery"), "-A", "gateway", "beat", "--loglevel", self.env["LOG_LEVEL"],
             "--schedule", str(cfg.run_dir / "celerybeat-schedule")],
        )
        for process in self.processes():
            process.start()
        _wait_until("fake provider", lambda: _http_ok(f"{cfg.provider_url}/_fake/health"), [self.provider],
                    START_TIMEOUT_SECONDS)
        _wait_until("web", lambda: _http_ok(f"{cfg.web_url}/healthz"), [self.web], START_TIMEOUT_SECONDS)
        _wait_until("celery workers", self._workers_answer, self.workers, START_TIMEOUT_SECONDS)
        if not self.beat.alive():
            raise StackError(f"beat exited:\n{self.beat.log_tail()}")

    def _workers_answer(self) -> bool:
        from gateway.celery import app

        names = {name for reply in app.control.ping(timeout=1.0) or [] for name in reply}
        wanted = {self._worker_name(n) for n in range(len(self.workers))}
        return all(any(name.startswith(prefix) for name in names) for prefix in wanted)

    def _worker_name(self, index: int) -> str:
        return f"bench{index}-{self.config.run_id}@"

    def processes(self) -> list[ManagedProcess]:
        found = [self.provider, self.web, *self.workers, self.beat]
        return [p for p in found if p is not None]

    def restart_web(self) -> None:
        """A fresh web (new workers, fresh memory) when peak RSS cannot be reset in place."""
        if self.web is not None:
            self.web.stop()
        self.web = self._web_process()
        self.web.start()
        _wait_until("web", lambda: _http_ok(f"{self.config.web_url}/healthz"), [self.web], START_TIMEOUT_SECONDS)

    def web_workers(self) -> list[int]:
        return procinfo.children(self.web.pid) if self.web and self.web.alive() else []

    def check_alive(self) -> None:
        dead = [p.name for p in self.processes() if not p.alive()]
        if dead:
            raise StackError(f"stack processes died: {', '.join(dead)}")

    def cpu_groups(self) -> dict[str, list[int]]:
        """Process trees to account CPU to (PostgreSQL: the backends of our database only)."""
        groups: dict[str, list[int]] = {}
        for process in self.processes():
            label = "worker" if process.name.startswith("worker") else process.name
            groups.setdefault(label, []).extend(process.tree())
        database = urlsplit(self.config.database_url).path.lstrip("/")
        backends = procinfo.postgres_backends(database)
        groups["postgres"] = [pid for pid in backends if pid not in self.bench_backends]
        groups["redis (shared)"] = procinfo.processes_named("redis-server")
        # This process (polling the database, the samplers) and the load generator it starts,
        # with the backends serving its own connections: measured, but not the gateway's.
        stack_pids = {pid for pids in groups.values() for pid in pids}
        own = [os.getpid(), *procinfo.descendants(os.getpid())]
        groups["bench"] = [pid for pid in own if pid not in stack_pids] + [
            pid for pid in backends if pid in self.bench_backends
        ]
        return groups

    def stop(self) -> None:
        for process in reversed(self.processes()):
            try:
                process.stop()
            except Exception:
                logger.exception("stopping %s failed", process.name)
