"""Real processes for fault tests: a Redis server of the test's own, Celery workers and beat as
subprocesses against it, and a fake Telegram provider that counts what it receives.

The shared Redis and PostgreSQL are never stopped: only the Redis started here is killed and
restarted. Workers use the test database, so rows a transactional test commits are theirs too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
from django.db import connection

from gateway.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
LAST_STACK_LOGS = REPO / ".run" / "last-fault-stack"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    condition: Callable[[], bool], *, timeout: float, interval: float = 0.2, what: str | Callable[[], str] = ""
) -> float:
    """Poll ``condition``; return the seconds it took, or fail after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s: {what() if callable(what) else what}")


class RedisServer:
    """redis-server on a free port with an append-only file in a temporary directory, so tasks
    queued before a SIGKILL are there again after a restart, as with the production setting."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="gw-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: _pings(client), timeout=15, what="own redis-server answers")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=5)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@dataclass
class CeleryProcess:
    """``celery -A gateway worker|beat`` with the project's settings against the given broker."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> CeleryProcess:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [CELERY, "-A", "gateway", *self.args], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Stack:
    """The broker and the Celery processes of one test."""

    redis: RedisServer
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[CeleryProcess] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        database = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT']}"
                f"/{database['NAME']}"
            ),
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": self.redis.url,
            "DEBUG": "true",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            # The fake providers listen on loopback: their base URLs must be allowed to carry credentials.
            "PROVIDER_ALLOWED_BASE_URLS": "http://127.0.0.1",
            **self.extra_env,
        }
        return env

    def worker(
        self, name: str, *, queues: str, concurrency: int = 4, env: dict[str, str] | None = None
    ) -> CeleryProcess:
        process = CeleryProcess(
            args=[
                "worker", "--loglevel", "INFO", "--pool", "threads", "--concurrency", str(concurrency),
                "--queues", queues, "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip",
            ],
            env={**self.env(), **(env or {})},
            log_path=self.workdir / f"{name}.log",
        )
        self.processes.append(process.start())
        return process

    def beat(self) -> CeleryProcess:
        process = CeleryProcess(
            args=["beat", "--loglevel", "INFO", "--schedule", str(self.workdir / "celerybeat-schedule")],
            env=self.env(),
            log_path=self.workdir / "beat.log",
        )
        self.processes.append(process.start())
        return process

    def publish_dispatch(self, message_ids: list[str], *, queue: str) -> None:
        """What the web process does after accepting, against this stack's broker."""
        from channels_app.tasks import dispatch_messages

        with celery_app.connection_for_write(url=self.redis.url) as conn:
            dispatch_messages.apply_async(args=[message_ids], queue=queue, connection=conn, retry=False)

    def wait_ready(self, *, timeout: float = 90) -> None:
        """Until every worker started so far logged that it is ready (consuming its queues)."""
        workers = [p for p in self.processes if p.args[0] == "worker"]
        wait_until(
            lambda: all(" ready." in p.log() for p in workers),
            timeout=timeout,
            interval=0.3,
            what=lambda: f"workers ready\n{self.logs()}",
        )

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log()[-4000:]}" for p in self.processes)

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        self.redis.close()


@contextlib.contextmanager
def own_stack(extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    server = RedisServer()
    server.start()
    workdir = Path(tempfile.mkdtemp(prefix="gw-stack-"))
    stack = Stack(redis=server, workdir=workdir, extra_env=extra_env or {})
    try:
        yield stack
    finally:
        stack.close()
        # The last stack's logs stay readable after a failure (tests/e2e/.last-stack/).
        shutil.rmtree(LAST_STACK_LOGS, ignore_errors=True)
        shutil.copytree(workdir, LAST_STACK_LOGS, ignore=shutil.ignore_patterns("celerybeat-schedule*"))
        shutil.rmtree(workdir, ignore_errors=True)


# ---- a fake Telegram Bot API ------------------------------------------------------------------


@dataclass
class FakeTelegram:
    """Answers ``sendMessage`` like Telegram after a per-bot delay, and records each request's
    chat id and arrival time. Bot tokens select the behaviour: ``delays[token]`` seconds."""

    delays: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    received: list[tuple[str, str, float]] = field(default_factory=list)  # (token, chat_id, unix time)
    in_flight: Counter[str] = field(default_factory=Counter)  # requests being answered, per token
    max_in_flight: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _next_id: int = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeTelegram:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                token = self.path.split("/")[1].removeprefix("bot")
                with fake._lock:
                    fake.received.append((token, str(body.get("chat_id")), time.time()))
                    fake._next_id += 1
                    message_id = fake._next_id
                    fake.in_flight[token] += 1
                    fake.max_in_flight[token] = max(fake.max_in_flight[token], fake.in_flight[token])
                time.sleep(fake.delays.get(token, 0.0))
                with fake._lock:
                    fake.in_flight[token] -= 1
                status = fake.statuses.get(token, 200)
                answer = (
                    {"ok": True, "result": {"message_id": message_id, "date": int(time.time())}}
                    if status == 200
                    else {"ok": False, "error_code": status, "description": "unavailable"}
                )
                payload = json.dumps(answer).encode()
                # A killed worker's connection is gone: nobody is left to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name="fake-telegram", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def requests_per_chat(self, token: str) -> Counter[str]:
        with self._lock:
            return Counter(chat for t, chat, _ in self.received if t == token)

    def first_arrival(self, token: str, chat_id: str) -> float | None:
        with self._lock:
            return next((at for t, chat, at in self.received if t == token and chat == chat_id), None)
