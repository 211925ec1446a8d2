"""The web's gunicorn (gateway/gunicorn_conf.py) as `make run` and the image start it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_web_serves_without_a_control_socket_at_the_per_user_default(tmp_path):
    """gunicorn's control socket would sit at $HOME/.gunicorn/gunicorn.ctl, one path for every
    gunicorn of the user (the sandbox's, other checkouts'), each unlinking it on exit."""
    port = _free_port()
    env = {**os.environ, "HOME": str(tmp_path), "PORT": str(port), "WEB_WORKERS": "1", "WEB_THREADS": "1"}
    env.pop("XDG_RUNTIME_DIR", None)
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn and settings
        [str(Path(sys.executable).parent / "gunicorn"), "gateway.wsgi:application", "--config",
         "gateway/gunicorn_conf.py"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)

        assert not (tmp_path / ".gunicorn").exists()
    finally:
        process.terminate()
        process.wait(timeout=20)
