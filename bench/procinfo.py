"""Reading processes from ``/proc``: children, memory high-water marks and CPU time.

Memory is what the issue's "web < 300 MB" is about and CPU time per process tree is the
cheapest evidence of where a bottleneck sits (web saturated, worker idle, PostgreSQL busy...),
so both are read for every run without any profiler attached.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    """Direct children, from ``/proc/<pid>/task/*/children`` or, without it, a scan of ``/proc``."""
    found: list[int] = []
    listed = False
    try:
        for task in (PROC / str(pid) / "task").iterdir():
            children_file = task / "children"
            if children_file.exists():
                listed = True
                found.extend(int(part) for part in _read(children_file).split())
    except OSError:
        return []
    if listed:
        return sorted(set(found))
    return sorted(p for p in all_pids() if parent_of(p) == pid)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (bounded: a process tree of a few dozen at most)."""
    seen: list[int] = []
    frontier = [pid]
    while frontier and len(seen) < 10_000:
        current = frontier.pop()
        for child in children(current):
            if child not in seen:
                seen.append(child)
                frontier.append(child)
    return seen


def all_pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def _stat_fields(pid: int) -> list[str]:
    """Fields of ``/proc/<pid>/stat`` after the command name (which may contain spaces)."""
    text = _read(PROC / str(pid) / "stat")
    _, _, rest = text.rpartition(")")
    return rest.split()


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if len(fields) > 1 else None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process (its threads included)."""
    fields = _stat_fields(pid)
    if len(fields) < 13:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def status_kib(pid: int, field: str) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` such as ``VmHWM`` or ``VmRSS``."""
    for line in _read(PROC / str(pid) / "status").splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    return None


def reset_peak_rss(pid: int) -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux 4.0+, same user or root)."""
    try:
        (PROC / str(pid) / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cmdline(pid: int) -> str:
    return _read(PROC / str(pid) / "cmdline").replace("\0", " ").strip()


def system_busy_seconds() -> float:
    """CPU seconds every core spent not idle since boot (``/proc/stat``), to tell how much of
    the machine something other than the benchmark used during a run."""
    first = _read(PROC / "stat").splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds per process, grouped by label (``web``, ``worker``, ``postgres`` ...)."""

    groups: dict[str, dict[int, float]]
    system_busy: float


def snapshot(groups: dict[str, Iterable[int]]) -> CpuSnapshot:
    return CpuSnapshot(
        groups={label: {pid: cpu_seconds(pid) for pid in pids} for label, pids in groups.items()},
        system_busy=system_busy_seconds(),
    )


def cpu_seconds_spent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds per group between two snapshots, plus ``other``: what the rest of the machine
    used (other engineers' test runs show up there and make a run noisy)."""
    spent: dict[str, float] = {}
    for label, pids in after.groups.items():
        start = before.groups.get(label, {})
        spent[label] = sum(max(0.0, seconds - start.get(pid, 0.0)) for pid, seconds in pids.items())
    spent["other"] = max(0.0, (after.system_busy - before.system_busy) - sum(spent.values()))
    return spent


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot, elapsed: float) -> dict[str, float]:
    """Cores used per group between two snapshots, plus ``other`` (the rest of the machine)."""
    return {label: round(seconds / elapsed, 2) if elapsed > 0 else 0.0
            for label, seconds in cpu_seconds_spent(before, after).items()}


# The gateway's own processes: what "gateway CPU per item" adds up. The fake provider and the
# benchmark process with its load generator are measured, but reported apart.
GATEWAY_GROUPS = ("web", "worker", "housekeeping", "beat", "postgres", "redis (shared)")


def gateway_cpu_per_item(seconds: dict[str, float], items: int) -> dict[str, Any] | None:
    """Milliseconds of CPU one item cost the gateway (web, workers, beat, PostgreSQL, Redis), per
    group and in total, and what the fake provider and the load generator cost apart from it."""
    if items <= 0:
        return None
    per_group = {group: round(seconds.get(group, 0.0) / items * 1000, 3) for group in GATEWAY_GROUPS}
    return {
        "items": items,
        "gateway_ms": round(sum(seconds.get(group, 0.0) for group in GATEWAY_GROUPS) / items * 1000, 3),
        "by_group_ms": per_group,
        "provider_ms": round(seconds.get("provider", 0.0) / items * 1000, 3),
        "loadgen_ms": round(seconds.get("bench", 0.0) / items * 1000, 3),
        "other_ms": round(seconds.get("other", 0.0) / items * 1000, 3),
    }


class CpuTracker:
    """CPU per group over a run, sampled every second in a background thread.

    Two snapshots are not enough: PostgreSQL backends and gunicorn workers come and go during a
    long run (connections are recycled after ``CONN_MAX_AGE``), and a process that exits takes
    its CPU time with it. Sampling loses at most the last second of each one.
    """

    def __init__(self, groups: Callable[[], dict[str, list[int]]], interval: float = 1.0) -> None:
        self.groups = groups
        self.interval = interval
        self._first: dict[str, dict[int, float]] = {}
        self._last: dict[str, dict[int, float]] = {}
        self._busy_start = 0.0
        self._started = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.seconds: dict[str, float] = {}

    def _sample(self) -> None:
        for label, pids in self.groups().items():
            first, last = self._first.setdefault(label, {}), self._last.setdefault(label, {})
            for pid in pids:
                seconds = cpu_seconds(pid)
                if seconds <= 0.0 and pid not in last:
                    continue
                # A process first seen mid-run started after the first sample: count all of it.
                first.setdefault(pid, seconds if self._thread is None else 0.0)
                last[pid] = max(last.get(pid, 0.0), seconds)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> CpuTracker:
        self._busy_start, self._started = system_busy_seconds(), time.monotonic()
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="bench-cpu", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        """Cores used per group, plus ``other`` (the rest of the machine); the CPU seconds behind
        them are left in ``seconds``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._sample()
        elapsed = time.monotonic() - self._started
        before = CpuSnapshot(groups=self._first, system_busy=self._busy_start)
        after = CpuSnapshot(groups=self._last, system_busy=system_busy_seconds())
        self.seconds = {label: round(value, 3) for label, value in cpu_seconds_spent(before, after).items()}
        return cpu_usage(before, after, elapsed)


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL backends serving ``database`` (their process title names it)."""
    marker = f" {database} "
    found = []
    for pid in all_pids():
        title = cmdline(pid)
        if title.startswith("postgres:") and marker in f"{title} ":
            found.append(pid)
    return found


def processes_named(name: str) -> list[int]:
    found = []
    for pid in all_pids():
        fields = _read(PROC / str(pid) / "comm").strip()
        if fields == name:
            found.append(pid)
    return found


def database_round_trip_ms(samples: int = 200) -> dict[str, float]:
    """``SELECT 1`` round trips from this process: on an idle machine a tenth of a millisecond;
    when other work saturates the CPUs every statement waits to be scheduled, and a gateway that
    makes a dozen statements per request slows down by that much. Read before every run."""
    from django.db import connection

    from bench.stats import percentile

    timings = []
    with connection.cursor() as cursor:
        for _ in range(samples):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"p50": round(percentile(timings, 50, presorted=True), 3),
            "p99": round(percentile(timings, 99, presorted=True), 3)}
