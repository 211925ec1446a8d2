"""Percentiles and the median of repeated runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any


def percentile(values: Sequence[float], p: float, *, presorted: bool = False) -> float:
    """The p-th percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return 0.0
    ordered = values if presorted else sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def median_of_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per metric, the median over the runs; nested mappings (CPU per process, latencies) are
    medianed key by key. Other values come from the first run (labels, parameters)."""
    if not runs:
        return {}
    merged: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [run.get(key) for run in runs]
        if isinstance(first, bool) or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                               for v in values):
            if isinstance(first, Mapping) and all(isinstance(v, Mapping) for v in values):
                merged[key] = median_of_runs(values)  # type: ignore[arg-type]
            else:
                merged[key] = first
            continue
        merged[key] = statistics.median(values)  # type: ignore[type-var]
    return merged
