"""A fixed pure-Python workload timed at the start and the end of every run.

The machine is shared: a run measured while other engineers' test suites run gets less CPU
than one measured on an idle box, and nothing in the gateway's own numbers says so. The same
loop timed before and after each run is a yardstick for that: if it took 40 % longer than on
an idle machine, so did every Python request of that run. It runs in this process, between
runs, so it never competes with the stack it describes.
"""

from __future__ import annotations

import time

ITERATIONS = 200_000


def _workload() -> int:
    """Integer arithmetic, a dict, str formatting and a list: what a request handler does."""
    table: dict[int, str] = {}
    total = 0
    for n in range(ITERATIONS):
        total += (n * n) % 7
        if n % 16 == 0:
            table[n % 1024] = f"{n:08d}"
    return total + len(table) + len(sorted(table.values()))


def calibrate(repeats: int = 3) -> float:
    """Milliseconds of the fastest of ``repeats`` runs of the workload (the fastest is the least
    disturbed by a scheduler hiccup; a busy machine makes every repeat slower)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        _workload()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 2)
