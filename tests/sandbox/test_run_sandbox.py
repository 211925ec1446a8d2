"""``manage.py run_sandbox`` serves the sandbox under gunicorn, callbacks included."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from sandbox.config import SandboxConfig
from sandbox.state import SandboxState
from tests.sandbox.conftest import Receiver, load_fixture

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"run_sandbox exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            return requests.get(f"{url}/_sandbox/health", timeout=1).json()
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("run_sandbox did not answer in time")


def test_run_sandbox_starts_gunicorn_and_answers(inbox: Receiver, tmp_path: Path) -> None:
    port = _free_port()
    prefix = f"sandbox-cmd-{uuid.uuid4().hex[:12]}:"
    env = dict(os.environ, SANDBOX_KEY_PREFIX=prefix, SANDBOX_REPORT_DELAY="0", PYTHONUNBUFFERED="1",
               HOME=str(tmp_path))
    env.pop("XDG_RUNTIME_DIR", None)
    command = [sys.executable, "manage.py", "run_sandbox", "--port", str(port), "--workers", "2", "--threads", "4"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        health = _wait_until_up(url, process)
        body = dict(load_fixture("mitto_sms.json"), callback=f"{inbox.url}/dlr")
        with requests.Session() as session:  # one keep-alive connection for several requests
            sent = [session.post(f"{url}/sms", json=body, headers={"X-Mitto-API-Key": "k"}, timeout=5)
                    for _ in range(3)]

        assert health == {"ok": True, "prefix": prefix}
        # No control socket at gunicorn's per-user default, which the web's gunicorn would share.
        assert not (tmp_path / ".gunicorn").exists()
        assert [r.status_code for r in sent] == [200, 200, 200]
        delivered = {r.json()["messageId"] for r in inbox.wait_for(3, timeout=10)}
        assert delivered == {r.json()["id"] for r in sent}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        SandboxState(SandboxConfig.from_env(key_prefix=prefix)).destroy()
    assert process.returncode == 0
