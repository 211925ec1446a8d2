from __future__ import annotations

from bench.stats import median_of_runs, percentile


def test_percentile_interpolates_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]

    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile([], 99) == 0.0


def test_median_of_runs_takes_each_metric_and_nested_metric_separately() -> None:
    runs = [
        {"rate": 10.0, "cpu": {"web": 1.0}, "tool": "wrk", "complete": True},
        {"rate": 30.0, "cpu": {"web": 0.2}, "tool": "wrk", "complete": False},
        {"rate": 20.0, "cpu": {"web": 0.5}, "tool": "wrk", "complete": True},
    ]

    merged = median_of_runs(runs)

    assert merged == {"rate": 20.0, "cpu": {"web": 0.5}, "tool": "wrk", "complete": True}


def test_a_metric_missing_from_some_runs_is_not_medianed() -> None:
    assert median_of_runs([{"rate": 1.0}, {"rate": None}]) == {"rate": 1.0}
