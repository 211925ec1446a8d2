"""Closed-loop HTTP load: wrk with the Lua scripts in ``bench/lua/`` when it is there (installed
with apt-get when missing and running as root), else the asyncio client in ``pyclient``.

Both run as a child process that prints one ``BENCH_JSON`` line, so a scenario starts the load,
watches the database while it runs, and may cut it short with SIGINT (wrk then reports what it
did until then, as does the asyncio client).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.config import LUA_DIR, ROOT

logger = logging.getLogger("bench.loadgen")

MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class LoadSpec:
    """``send``: Message/send with a new destination per request, for ``duration_seconds``.
    ``lines``: each ``<path>\\t<body>`` line of ``lines_file`` once (``duration_seconds`` bounds it)."""

    url: str
    mode: str
    connections: int
    duration_seconds: float
    token: str = ""
    account: str = ""
    text: str = ""
    sender: str = ""
    lines_file: Path | None = None
    lines: int = 0
    threads: int = 2


@dataclass
class LoadResult:
    tool: str
    requests: int
    duration_seconds: float
    requests_per_second: float
    latency_ms: dict[str, float]
    statuses: dict[str, int]
    errors: dict[str, int]
    non_2xx: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "duration_seconds": round(self.duration_seconds, 3),
            "requests_per_second": round(self.requests_per_second, 1),
            "latency_ms": self.latency_ms,
            "statuses": self.statuses,
            "errors": self.errors,
            "non_2xx": self.non_2xx,
        }


def parse_output(stdout: str) -> LoadResult:
    """The ``BENCH_JSON`` line of wrk or the asyncio client, in milliseconds and per second."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise ValueError(f"no {MARKER.strip()} line in load generator output:\n{stdout[-2000:]}")
    raw = json.loads(line[len(MARKER):])
    duration = float(raw["duration_us"]) / 1e6
    statuses = {str(code): int(n) for code, n in raw.get("statuses", {}).items()}
    requests = int(raw["requests"])
    non_2xx = sum(n for code, n in statuses.items() if not code.startswith("2"))
    latency = {key: round(float(value) / 1000.0, 3) for key, value in raw.get("latency_us", {}).items()}
    return LoadResult(
        tool=str(raw.get("tool", "?")),
        requests=requests,
        duration_seconds=duration,
        requests_per_second=requests / duration if duration > 0 else 0.0,
        latency_ms=latency,
        statuses=statuses,
        errors={name: int(n) for name, n in raw.get("errors", {}).items()},
        non_2xx=non_2xx,
        raw=raw,
    )


def ensure_wrk(*, install: bool = True) -> str | None:
    """wrk's path; installs the Debian package when missing and running as root."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        logger.warning("wrk is missing and cannot be installed here: using the asyncio load generator")
        return None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for attempt in ([apt, "install", "-y", "-qq", "wrk"], [apt, "update", "-qq"], [apt, "install", "-y", "-qq", "wrk"]):
        logger.info("running %s", " ".join(attempt))
        result = subprocess.run(attempt, env=env, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
        if attempt[1] == "install" and result.returncode == 0:
            break
    found = shutil.which("wrk")
    if found is None:
        logger.warning("apt-get could not install wrk: using the asyncio load generator")
    return found


class LoadProcess:
    """One running load generator."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.started_at = 0.0
        self._popen: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> LoadProcess:
        self.started_at = time.monotonic()
        self._popen = subprocess.Popen(  # noqa: S603 - wrk or our own module
            self.argv, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL,
        )
        return self

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def interrupt(self) -> None:
        if self.running() and self._popen is not None:
            self._popen.send_signal(signal.SIGINT)

    def finish(self, timeout: float) -> LoadResult:
        """Wait for the report (interrupting after ``timeout``), then parse it."""
        if self._popen is None:
            raise RuntimeError("load generator not started")
        try:
            stdout, stderr = self._popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.interrupt()
            try:
                stdout, stderr = self._popen.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                stdout, stderr = self._popen.communicate()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            log.write(f"$ {' '.join(self.argv)}\n{stdout}\n{stderr}\n")
        return parse_output(stdout)


class LoadGenerator:
    """Builds load processes with the tool chosen once per benchmark run."""

    def __init__(self, *, tool: str, wrk_path: str | None, python: str, work_dir: Path) -> None:
        self.tool = tool
        self.wrk_path = wrk_path
        self.python = python
        self.work_dir = work_dir
        self._count = 0

    @classmethod
    def choose(cls, preference: str, *, python: str, work_dir: Path) -> LoadGenerator:
        wrk_path = ensure_wrk() if preference in ("auto", "wrk") else None
        tool = "wrk" if wrk_path else "python"
        if preference == "wrk" and wrk_path is None:
            logger.warning("wrk was asked for but is not available: using the asyncio load generator")
        return cls(tool=tool, wrk_path=wrk_path, python=python, work_dir=work_dir)

    def process(self, spec: LoadSpec) -> LoadProcess:
        self._count += 1
        log_path = self.work_dir / "logs" / "loadgen.log"
        if self.tool == "wrk" and self.wrk_path:
            return LoadProcess(*self._wrk(spec), log_path=log_path)
        return LoadProcess(*self._python(spec), log_path=log_path)

    def _wrk(self, spec: LoadSpec) -> tuple[list[str], dict[str, str]]:
        threads = max(1, min(spec.threads, spec.connections, spec.lines or spec.connections))
        connections = max(spec.connections, threads)
        script = "send.lua" if spec.mode == "send" else "lines.lua"
        env = dict(
            os.environ,
            BENCH_LUA_DIR=str(LUA_DIR),
            BENCH_TOKEN=spec.token,
            BENCH_ACCOUNT=spec.account,
            BENCH_TEXT=spec.text,
            BENCH_SENDER=spec.sender,
            BENCH_LINES_FILE=str(spec.lines_file or ""),
            BENCH_THREADS=str(threads),
        )
        # wrk's duration is whole seconds; the lines mode is cut short by the scenario.
        seconds = max(1, round(spec.duration_seconds))
        argv = [
            str(self.wrk_path), "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", "30s", "--latency", "-s", str(LUA_DIR / script), self._base(spec.url),
        ]
        return argv, env

    def _python(self, spec: LoadSpec) -> tuple[list[str], dict[str, str]]:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        spec_path = self.work_dir / f"load-{self._count}.json"
        spec_path.write_text(
            json.dumps(
                {
                    "url": spec.url, "mode": spec.mode, "connections": spec.connections,
                    "duration_seconds": spec.duration_seconds, "token": spec.token, "account": spec.account,
                    "text": spec.text, "sender": spec.sender, "lines_file": str(spec.lines_file or ""),
                }
            )
        )
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return [self.python or sys.executable, "-m", "bench.loadgen.pyclient", str(spec_path)], env

    @staticmethod
    def _base(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
