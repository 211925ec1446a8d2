"""The statements that cost PostgreSQL the most time during a run (``pg_stat_statements``).

``pg_stat_activity`` sampling (``bench/pgactivity.py``) shows what is running at an instant;
``pg_stat_statements`` adds what it all cost: calls, total and mean execution time and rows of
every normalised statement. The extension must be loaded at server start
(``shared_preload_libraries``), which the benchmark may not do to a shared server; then the
report says "pg_stat_statements not loaded" and the run goes on without it.

Before each run the statistics are reset when the role may (``pg_stat_statements_reset``), and
a snapshot is taken in any case: the run's figures are the difference of two snapshots, so they
hold even where the reset is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("bench.pgstatements")

NOT_LOADED = "pg_stat_statements not loaded"
QUERY_CHARS = 200
# The benchmark's own look at the catalogue is not the gateway's work.
_OWN = ("pg_stat_statements", "pg_stat_activity", "pg_backend_pid")

_SNAPSHOT_SQL = (
    "SELECT s.queryid, s.calls, s.total_exec_time, s.rows, s.query FROM pg_stat_statements s"
    " WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

Snapshot = dict[int, tuple[int, float, int, str]]


def _connect(database_url: str) -> Any:
    import psycopg

    return psycopg.connect(database_url, autocommit=True, connect_timeout=10)


def availability(database_url: str) -> str:
    """``""`` when the view can be read, else why not (``NOT_LOADED`` first of all)."""
    import psycopg

    try:
        with _connect(database_url) as connection:
            try:
                connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            except psycopg.Error as exc:  # not superuser: the extension may still exist already
                logger.debug("CREATE EXTENSION pg_stat_statements: %s", exc)
            connection.execute("SELECT 1 FROM pg_stat_statements LIMIT 1").fetchall()
    except psycopg.Error as exc:
        text = str(exc).splitlines()[0]
        if "shared_preload_libraries" in text:
            return NOT_LOADED
        if "does not exist" in text:
            return f"{NOT_LOADED} (the extension is not created in the benchmark database: {text})"
        return f"pg_stat_statements unreadable: {text}"
    return ""


@dataclass
class StatementWatch:
    """Reset (when allowed) and snapshot before a run; ``stop`` gives the run's top statements."""

    database_url: str
    unavailable: str = ""
    reset_done: bool = False
    _before: Snapshot = field(default_factory=dict)

    def start(self) -> StatementWatch:
        if self.unavailable:
            return self
        import psycopg

        try:
            with _connect(self.database_url) as connection:
                try:
                    connection.execute("SELECT pg_stat_statements_reset()")
                    self.reset_done = True
                except psycopg.Error as exc:
                    logger.debug("pg_stat_statements_reset refused: %s", exc)
                self._before = _snapshot(connection)
        except psycopg.Error as exc:
            self.unavailable = f"pg_stat_statements unreadable: {str(exc).splitlines()[0]}"
        return self

    def stop(self, top: int = 10) -> dict[str, Any]:
        if self.unavailable:
            return {"available": False, "reason": self.unavailable}
        import psycopg

        try:
            with _connect(self.database_url) as connection:
                after = _snapshot(connection)
        except psycopg.Error as exc:
            return {"available": False, "reason": f"pg_stat_statements unreadable: {str(exc).splitlines()[0]}"}
        rows = statement_deltas(self._before, after)
        total_ms = sum(row["total_ms"] for row in rows)
        return {
            "available": True,
            "reset": self.reset_done,
            "total_ms": round(total_ms, 1),
            "calls": sum(row["calls"] for row in rows),
            "top": rows[:top],
        }


def _snapshot(connection: Any) -> Snapshot:
    return {
        int(queryid): (int(calls), float(total), int(rows), str(query))
        for queryid, calls, total, rows, query in connection.execute(_SNAPSHOT_SQL).fetchall()
        if queryid is not None
    }


def statement_deltas(before: Snapshot, after: Snapshot) -> list[dict[str, Any]]:
    """Per statement, what it cost between two snapshots, the most expensive first."""
    rows = []
    for queryid, (calls, total, count, query) in after.items():
        calls0, total0, count0, _ = before.get(queryid, (0, 0.0, 0, ""))
        calls_delta = calls - calls0
        if calls_delta <= 0 or any(own in query for own in _OWN):
            continue
        spent = total - total0
        text = " ".join(query.split())
        rows.append({
            "query": text if len(text) <= QUERY_CHARS else text[: QUERY_CHARS - 3] + "...",
            "calls": calls_delta,
            "total_ms": round(spent, 1),
            "mean_ms": round(spent / calls_delta, 3),
            "rows": count - count0,
        })
    rows.sort(key=lambda row: float(row["total_ms"]), reverse=True)  # type: ignore[arg-type]  # a float, set above
    return rows
