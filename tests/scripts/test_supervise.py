"""scripts/supervise.sh: every process of `make run` comes back after it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISE = ROOT / "scripts" / "supervise.sh"
# Each start appends its pid, then the child waits to be killed.
CHILD = 'echo $$ >> "$PID_LOG"; exec sleep 60'


def _pids(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def _wait_for_pids(log: Path, count: int, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(pids := _pids(log)) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"{count} starts expected, saw {_pids(log)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_sigkilled_child_is_started_again_and_sigterm_stops_both(tmp_path):
    log = tmp_path / "pids"
    supervisor = subprocess.Popen(  # noqa: S603 - our own script
        ["bash", str(SUPERVISE), "sh", "-c", CHILD],  # noqa: S607
        env={**os.environ, "PID_LOG": str(log), "SUPERVISE_MIN_BACKOFF": "1"},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        (first,) = _wait_for_pids(log, 1)
        os.kill(first, signal.SIGKILL)

        second = _wait_for_pids(log, 2)[1]
        assert second != first and _alive(second)
        assert supervisor.poll() is None

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=10) == 0
        time.sleep(0.1)
        assert not _alive(second)
        assert "exited with status 137" in supervisor.stderr.read()  # 128 + SIGKILL
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)


def test_every_process_of_make_run_is_supervised():
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    assert len(lines) >= 5
    for line in lines:
        name, command = line.split(":", 1)
        assert command.strip().startswith("exec scripts/supervise.sh "), name
