from __future__ import annotations

from bench.pgstatements import statement_deltas


def test_a_runs_statements_are_the_difference_of_two_snapshots_most_expensive_first() -> None:
    before = {1: (10, 5.0, 10, "SELECT 1"), 2: (100, 50.0, 100, "UPDATE m SET status = $1")}
    after = {
        1: (10, 5.0, 10, "SELECT 1"),  # not called during the run: left out
        2: (300, 250.0, 300, "UPDATE m SET status = $1"),
        3: (4, 400.0, 4, "INSERT INTO m   VALUES ($1)"),
        4: (9, 900.0, 9, "SELECT * FROM pg_stat_statements"),  # the benchmark's own look
    }

    rows = statement_deltas(before, after)

    assert rows == [
        {"query": "INSERT INTO m VALUES ($1)", "calls": 4, "total_ms": 400.0, "mean_ms": 100.0, "rows": 4},
        {"query": "UPDATE m SET status = $1", "calls": 200, "total_ms": 200.0, "mean_ms": 1.0, "rows": 200},
    ]
