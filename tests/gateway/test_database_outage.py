"""A real database outage: the web answers 503 problem+json with Retry-After while PostgreSQL is
down, and 200 again once it is back, without a restart.

The test starts its own throwaway PostgreSQL cluster (initdb into a temporary directory, on a
free port, as the ``postgres`` OS user when run as root) and a real gunicorn web process against
it (``DEBUG=true``, as under ``make run``), stops and starts only that cluster, and talks HTTP.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"))

pytestmark = pytest.mark.skipif(not PG_BINS, reason="PostgreSQL server binaries are not installed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(args: list[str], **options: object) -> subprocess.CompletedProcess:
    """Run one of our fixed commands (PostgreSQL's tools, manage.py), never input from outside."""
    return subprocess.run(args, capture_output=True, **options)  # noqa: S603 - fixed commands


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` account then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int

    def ctl(self, *args: str) -> None:
        _run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]), check=True)

    def start(self) -> None:
        self.ctl("-l", str(self.data / "server.log"), "start",
                 "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data} -c fsync=off")

    def stop(self) -> None:
        self.ctl("stop", "-m", "fast")

    @property
    def url(self) -> str:
        return f"postgres://gateway:gateway@127.0.0.1:{self.port}/gw_outage"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="gw-outage-", dir="/var/tmp"))
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
    running = Cluster(bin=PG_BINS[-1], data=base / "pgdata", port=_free_port())
    _run(
        _as_postgres([str(running.bin / "initdb"), "-D", str(running.data), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C.UTF-8"]),
        check=True,
    )
    running.start()
    try:
        psql = [str(running.bin / "psql"), "-h", "127.0.0.1", "-p", str(running.port), "-U", "postgres", "-qAt",
                "-v", "ON_ERROR_STOP=1", "-d", "postgres"]
        _run([*psql, "-c", "CREATE ROLE gateway LOGIN PASSWORD 'gateway'"], check=True)
        _run([*psql, "-c", "CREATE DATABASE gw_outage OWNER gateway"], check=True)
        yield running
    finally:
        _run(_as_postgres([str(running.bin / "pg_ctl"), "-D", str(running.data), "stop", "-m", "immediate"]))
        shutil.rmtree(base, ignore_errors=True)


def _environment(cluster: Cluster, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "DEBUG": "true",
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
        "ACCOUNT_CACHE_SECONDS": "0",
        "DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS": "7",
    }


def _manage(env: dict[str, str], *args: str) -> str:
    return _run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True).stdout


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> Iterator[str]:
    port = _free_port()
    env = _environment(cluster, port)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "create_customer", "--email", "outage@example.com", "--password", "outage-passphrase-123")
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn and settings
        [str(Path(sys.executable).parent / "gunicorn"), "gateway.wsgi:application", "--config",
         "gateway/gunicorn_conf.py"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: on a loaded machine gunicorn and Django may take a while to start.
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the web process did not come up")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _login(base: str) -> requests.Response:
    return requests.post(f"{base}/api/v1/Customers/login",
                         json={"email": "outage@example.com", "password": "outage-passphrase-123"}, timeout=15)


def _handshake(base: str) -> requests.Response:
    """A plain Django view (a provider callback) that reads the database."""
    return requests.get(f"{base}/callbacks/whatsapp/00000000-0000-4000-8000-00000000abcd", timeout=15)


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "7"
    body = response.json()
    assert body["status"] == 503
    assert body["type"].endswith("database-unavailable")
    assert body["retryAfter"] == 7


def test_an_outage_answers_503_problems_and_the_web_recovers_without_a_restart(cluster, web):
    assert _login(web).status_code == 200
    token = _login(web).json()["token"]
    assert _handshake(web).status_code == 404  # no such account: the database answered

    cluster.stop()
    try:
        _assert_unavailable(_login(web))  # DRF view
        _assert_unavailable(
            requests.get(f"{web}/api/v1/Messages", headers={"Authorization": f"Bearer {token}"}, timeout=15)
        )
        _assert_unavailable(_handshake(web))  # plain Django view
        _assert_unavailable(  # a hot route, served without DRF's request cycle (channels_app/lean_api.py)
            requests.post(f"{web}/api/v1/Message/send", json={"destination": "+41751231234"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=15)
        )
    finally:
        cluster.start()

    assert _login(web).status_code == 200
    assert requests.get(f"{web}/api/v1/Messages", headers={"Authorization": f"Bearer {token}"},
                        timeout=15).status_code == 200
    assert _handshake(web).status_code == 404
