"""A sampling profiler for PostgreSQL: what the benchmark database is busy with during a run.

py-spy shows the web and worker threads waiting in psycopg; this shows what they wait for.
Five times a second ``pg_stat_activity`` is read for the benchmark database, and every active
statement (literals replaced, so the same statement with other values counts once) is tallied
with what it was waiting on (a lock, I/O, the client, or nothing: running on a CPU).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from typing import Any

logger = logging.getLogger("bench.pgactivity")

SAMPLE_INTERVAL = 0.2
_ACTIVE_SQL = (
    "SELECT query, coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '') FROM pg_stat_activity"
    " WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
)
_LITERALS = [
    (re.compile(r"'(?:[^']|'')*'"), "?"),  # strings, uuids, timestamps, arrays in quotes
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "?"),
    (re.compile(r"\$\d+"), "?"),
    (re.compile(r"(\?\s*,\s*)+\?"), "?"),  # lists of any length
    (re.compile(r"\s+"), " "),
]


def normalise(query: str, limit: int = 160) -> str:
    for pattern, replacement in _LITERALS:
        query = pattern.sub(replacement, query)
    query = query.strip()
    return query if len(query) <= limit else query[: limit - 3] + "..."


class PgActivitySampler:
    def __init__(self, database_url: str, interval: float = SAMPLE_INTERVAL) -> None:
        self.database_url = database_url
        self.interval = interval
        self.counts: Counter[tuple[str, str]] = Counter()
        self.samples = 0
        self.backend_pid: int | None = None  # its own backend, which is not the gateway's work
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PgActivitySampler:
        self._thread = threading.Thread(target=self._run, name="bench-pg-activity", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as connection:
                self.backend_pid = connection.info.backend_pid
                self._ready.set()
                while not self._stop.wait(self.interval):
                    rows = connection.execute(_ACTIVE_SQL).fetchall()
                    self.samples += 1
                    for query, wait_type, wait_event in rows:
                        waiting = wait_type if wait_type == "CPU" else f"{wait_type}:{wait_event}"
                        self.counts[(normalise(query), waiting)] += 1
        except Exception:  # a profiler must never break the run it watches
            logger.exception("pg_stat_activity sampling stopped")
        finally:
            self._ready.set()

    def wait_connected(self, timeout: float = 5.0) -> int | None:
        """Its backend's pid once connected (None if it could not connect)."""
        self._ready.wait(timeout)
        return self.backend_pid

    def stop(self, top: int = 10) -> dict[str, Any]:
        """The most often active statements, as average number of backends running each."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        samples = max(1, self.samples)
        return {
            "samples": self.samples,
            "average_active_backends": round(sum(self.counts.values()) / samples, 2),
            "top": [
                {"statement": statement, "waiting": waiting, "average_active": round(n / samples, 3)}
                for (statement, waiting), n in self.counts.most_common(top)
            ],
        }
