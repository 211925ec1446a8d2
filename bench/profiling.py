"""``--profile``: sample the web and worker processes with py-spy during a run.

py-spy attaches from outside (no change to the processes measured) and ``--nonblocking`` keeps
it from pausing them, so the numbers of a profiled run stay close to an unprofiled one. The
output is py-spy's collapsed-stack format (one ``frame;frame;frame count`` line per stack; it
opens in speedscope.app or ``flamegraph.pl``) and a summary of the costliest frames, which
the report prints.

py-spy is not a dependency of the project: it is looked up on PATH, next to the benchmark's
Python, or at ``$PY_SPY``; without it profiling is skipped with a note in the report.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.config import ROOT

logger = logging.getLogger("bench.profiling")

SAMPLE_RATE = 100
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def find_py_spy(python: str) -> str | None:
    candidates = [os.environ.get("PY_SPY", ""), shutil.which("py-spy") or "", str(Path(python).parent / "py-spy")]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


@dataclass
class Recording:
    label: str
    output: Path
    popen: subprocess.Popen[bytes]


class Profiler:
    """Records the given processes (and their children) between ``start`` and ``stop``.

    ``cpu`` mode samples only threads holding the GIL (``py-spy --gil``): where Python burns the
    CPU, which is what a saturated box runs out of. ``wall`` mode samples every thread that is
    not idle, waits on PostgreSQL, Redis and the network included: where requests spend time.
    """

    def __init__(self, py_spy: str, out_dir: Path, *, mode: str = "cpu") -> None:
        self.py_spy = py_spy
        self.out_dir = out_dir
        self.mode = mode
        self._recordings: list[Recording] = []

    def start(self, name: str, targets: dict[str, int]) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for label, pid in targets.items():
            output = self.out_dir / f"{name}-{label}-{self.mode}.collapsed.txt"
            argv = [
                self.py_spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
                "--rate", str(SAMPLE_RATE), "--format", "raw", "--output", str(output),
                *(["--gil"] if self.mode == "cpu" else []),
            ]
            log = (self.out_dir / f"{name}-{label}.py-spy.log").open("wb")
            popen = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
            self._recordings.append(Recording(label=f"{name}-{label}", output=output, popen=popen))

    def stop(self) -> list[Path]:
        """Stop every recording (py-spy writes its file on SIGINT) and return the files written."""
        written = []
        for recording in self._recordings:
            if recording.popen.poll() is None:
                recording.popen.send_signal(signal.SIGINT)
            try:
                recording.popen.wait(60)
            except subprocess.TimeoutExpired:
                recording.popen.kill()
                recording.popen.wait(5)
            if recording.output.exists() and recording.output.stat().st_size:
                written.append(recording.output)
            else:
                logger.warning("py-spy wrote nothing for %s (see its .py-spy.log)", recording.label)
        self._recordings = []
        return written


def _frame_name(frame: str) -> str:
    """``function (file.py:12)`` -> ``function (path/relative/to/site-packages/or/repo.py)``."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = path.replace(str(ROOT) + "/", "")
    return f"{match.group('function')} ({path})"


APP_DIRS = ("accounts_app/", "channels_app/", "webhooks_app/", "gateway/", "bench/")


def _is_ours(frame: str) -> bool:
    match = _FRAME.match(frame.strip())
    path = match.group("file") if match else ""
    if "/.venv/" in path or "site-packages" in path:
        return False
    return path.replace(str(ROOT) + "/", "").startswith(APP_DIRS)


def summarise(collapsed: Path, *, top: int = 15) -> dict[str, object]:
    """The frames that cost the most: where samples ended (self) and, among the project's own
    functions, which ones the samples passed through (inclusive)."""
    self_time: Counter[str] = Counter()
    inclusive_ours: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        self_time[_frame_name(frames[-1])] += count
        for name in {_frame_name(f) for f in frames if _is_ours(f)}:
            inclusive_ours[name] += count

    def share(items: list[tuple[str, int]]) -> list[dict[str, object]]:
        return [{"frame": name, "samples": n, "percent": round(100.0 * n / total, 1)} for name, n in items]

    return {
        "file": str(collapsed.relative_to(ROOT)) if collapsed.is_relative_to(ROOT) else str(collapsed),
        "samples": total,
        "top_self": share(self_time.most_common(top)),
        "top_inclusive_project": share(inclusive_ours.most_common(top)),
    }
