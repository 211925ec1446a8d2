"""The benchmark's results: a JSON document (everything, every run) and a markdown summary (the
median of each case, each target next to its measured value, CPU per process, profiles)."""

from __future__ import annotations

import json
import operator
import os
import platform
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.config import ROOT, BenchConfig

_OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Target:
    label: str
    scenario: str
    case: str | None  # None: the scenario's only (or first) case
    metric: str
    op: str
    goal: float
    unit: str

    def check(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return _OPS[self.op](float(value), self.goal)


TARGETS = [
    Target("single send c=16 throughput", "single_send", "c=16", "requests_per_second", ">=", 1600, "req/s"),
    Target("single send c=16 p99 latency", "single_send", "c=16", "latency_p99_ms", "<", 25, "ms"),
    Target("sendbulk 10k accept", "sendbulk", "10k", "accept_seconds", "<=", 0.5, "s"),
    Target("sendbulk 10k web peak memory", "sendbulk", "10k", "web_peak_mb", "<", 300, "MB"),
    Target("sendbulk 100k accept", "sendbulk", "100k", "accept_seconds", "<=", 3, "s"),
    Target("sendbulk 100k web peak memory", "sendbulk", "100k", "web_peak_mb", "<", 300, "MB"),
    Target("end to end throughput", "end_to_end", None, "messages_per_second", ">=", 2000, "msg/s"),
    Target("report ingest throughput", "dlr_ingest", None, "callbacks_per_second", ">=", 2000, "callbacks/s"),
    Target("report ingest p99 latency", "dlr_ingest", None, "latency_p99_ms", "<", 20, "ms"),
    Target("failover lag (max)", "failover", None, "lag_max_seconds", "<=", 1.0, "s"),
]


# The rate each throughput case is judged by, and what one unit of it is.
RATE_METRICS: dict[str, tuple[str, str]] = {
    "single_send": ("requests_per_second", "send"),
    "end_to_end": ("messages_per_second", "message"),
    "dlr_ingest": ("callbacks_per_second", "report"),
}
# What the gateway's own work runs in; ``other`` (the load generator, this script) is not it.
STACK_GROUPS = ("web", "worker", "beat", "sandbox", "postgres", "redis (shared)")


def cpu_per_item(cores: dict[str, Any], rate: float, cpus: int) -> dict[str, Any] | None:
    """Milliseconds of CPU that one item (a send, a message end to end, a report) cost each
    process group, and the rate at which the stack's groups together would use every core.

    A throughput target is within reach of this machine only when its rate is below that ceiling:
    a missed target with the ceiling near the measured rate is spent CPU, not waiting.
    """
    if rate <= 0:
        return None
    per_group = {group: round(float(cores.get(group) or 0.0) / rate * 1000, 2) for group in (*STACK_GROUPS, "other")}
    stack_ms = sum(per_group[group] for group in STACK_GROUPS)
    return {
        "ms_per_item": per_group,
        "stack_ms_per_item": round(stack_ms, 2),
        "ceiling_per_second": round(cpus * 1000 / stack_ms, 1) if stack_ms > 0 else None,
    }


@dataclass
class CaseResult:
    scenario: str
    title: str
    case: str
    params: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    median: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    config: BenchConfig
    started_at: datetime
    loadgen: str = ""
    cases: list[CaseResult] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    census: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    outcome: str = "ok"
    finished_at: datetime | None = None

    def find(self, scenario: str, case: str | None) -> CaseResult | None:
        for result in self.cases:
            if result.scenario == scenario and (case is None or result.case == case):
                return result
        return None

    def targets(self) -> list[dict[str, Any]]:
        rows = []
        for target in TARGETS:
            result = self.find(target.scenario, target.case)
            value = result.median.get(target.metric) if result else None
            if not isinstance(value, int | float):
                value = None
            rows.append(
                {
                    "label": target.label,
                    "goal": f"{target.op} {target.goal:g} {target.unit}",
                    "measured": value,
                    "unit": target.unit,
                    "met": target.check(value),
                    "run": result is not None,
                    # A run cut short (quick mode's wait cap, a stalled pipeline) gives a rate, not a total.
                    "complete": bool(result.median.get("complete", True)) if result else None,
                }
            )
        return rows

    def cpu_budget(self) -> list[dict[str, Any]]:
        """``cpu_per_item`` of each throughput case (median run), for the report and its JSON."""
        rows = []
        for result in self.cases:
            metric, unit = RATE_METRICS.get(result.scenario, (None, ""))
            rate = result.median.get(metric) if metric else None
            if not isinstance(rate, int | float):
                continue
            budget = cpu_per_item(result.median.get("cpu_cores") or {}, float(rate), os.cpu_count() or 1)
            if budget is not None:
                rows.append({"case": f"{result.scenario} {result.case}", "unit": unit, "rate": rate, **budget})
        return rows

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.config.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": (self.finished_at or datetime.now(UTC)).isoformat(),
            "outcome": self.outcome,
            "machine": machine(),
            "git": git_state(),
            "config": self.config.describe(),
            "loadgen": self.loadgen,
            "targets": self.targets(),
            "cases": [
                {"scenario": c.scenario, "title": c.title, "case": c.case, "params": c.params, "median": c.median,
                 "runs": c.runs}
                for c in self.cases
            ],
            "cpu_per_item": self.cpu_budget(),
            "statements_per_request": self.census,
            "profiles": self.profiles,
            "notes": self.notes,
        }

    def write(self) -> tuple[Path, Path]:
        directory = self.config.results_dir
        directory.mkdir(parents=True, exist_ok=True)
        json_path = directory / f"{self.config.run_id}.json"
        md_path = directory / f"{self.config.run_id}.md"
        json_path.write_text(json.dumps(self.as_json(), indent=2, default=str) + "\n")
        md_path.write_text(render_markdown(self, scenario_columns()))
        return json_path, md_path


def scenario_columns() -> dict[str, ModuleType]:
    from bench.scenarios import SCENARIOS

    return SCENARIOS


def machine() -> dict[str, Any]:
    try:
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        memory_kib = 0
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_kib / 1024 / 1024, 1),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        result = subprocess.run(  # noqa: S603 - read-only git queries
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False  # noqa: S607
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return lines


def render_markdown(report: Report, scenarios: dict[str, ModuleType]) -> str:
    cfg = report.config.describe()
    info = machine()
    lines = [
        f"# Benchmark {report.config.run_id} ({cfg['mode']})",
        "",
        f"- machine: {info['cpus']} CPUs, {info['memory_gb']} GB, Python {info['python']}; "
        f"load average at the end {info['load_average']}",
        f"- stack: web {cfg['web']}, celery {cfg['celery']}, sandbox {cfg['sandbox']}",
        f"- load generator: {report.loadgen or '-'}; runs per case: {cfg['runs_per_case']} (median shown)",
        f"- outcome: {report.outcome}",
        "",
        "## Targets",
        "",
    ]
    rows = []
    for row in report.targets():
        met = "not run" if not row["run"] else {True: "yes", False: "**no**", None: "-"}[row["met"]]
        measured = _fmt(row["measured"])
        if row["measured"] is not None:
            measured += f" {row['unit']}" + ("" if row["complete"] else " (run incomplete)")
        rows.append([row["label"], row["goal"], measured, met])
    lines += _table(["target", "goal", "measured", "met"], rows)
    for name, module in scenarios.items():
        results = [c for c in report.cases if c.scenario == name]
        if not results:
            continue
        lines += ["", f"## {module.TITLE}", ""]
        header = ["case", *[label for _, label in module.COLUMNS]]
        body = []
        for result in results:
            error = result.median.get("error")
            body.append([result.case, *[result.median.get(metric) for metric, _ in module.COLUMNS]]
                        if not error else [result.case, f"error: {error}"] + [""] * (len(header) - 2))
        lines += _table(header, body)
    cpu_rows = [
        [f"{c.scenario} {c.case}", *_cpu_cells(c.median.get("cpu_cores", {})), c.median.get("load_average_before"),
         c.median.get("db_round_trip_ms_before", {}).get("p50"), c.median.get("db_round_trip_ms_before", {}).get("p99")]
        for c in report.cases
    ]
    if cpu_rows:
        lines += ["", "## The machine during each case (median run)", ""]
        lines += _table(["case", *[f"{g} cores" for g in CPU_GROUPS], "load avg before", "SELECT 1 p50 ms",
                         "SELECT 1 p99 ms"], cpu_rows)
        lines += ["", "Cores: CPU time per process group over the run's wall time. `other` is the rest of the "
                  "machine (the load generator, this script, anything else running: other engineers' test runs "
                  "make a run noisy). `SELECT 1` is the PostgreSQL round trip from this process just before "
                  "the run (about 0.1 ms on an idle machine)."]
    budget = report.cpu_budget()
    if budget:
        lines += ["", "## CPU per item, and the throughput it allows (median run)", ""]
        lines += _table(
            ["case", "item", "measured /s", *[f"{g} ms" for g in STACK_GROUPS], "stack ms", "CPU ceiling /s"],
            [[row["case"], row["unit"], row["rate"], *[row["ms_per_item"][g] for g in STACK_GROUPS],
              row["stack_ms_per_item"], row["ceiling_per_second"]] for row in budget],
        )
        lines += ["", "Each group's cores divided by the rate: the CPU one item cost it. The ceiling is the rate at "
                  "which the stack's processes together (load generator excluded) would use every core of this "
                  "machine: a target above it cannot be met by removing waits, only by spending less CPU per item."]
    activity: list[tuple[str, Any]] = [
        (f"{c.scenario} {c.case}", c.runs[0].get("postgres_activity")) for c in report.cases if c.runs
    ]
    activity = [(name, a) for name, a in activity if a and a.get("top")]
    if activity:
        lines += ["", "## What PostgreSQL was busy with (pg_stat_activity sampled 5/s, first run)", "",
                  "`active` is the average number of backends running the statement (literals replaced by ?); "
                  "`waiting` is what they waited on (`CPU`: nothing, running or runnable).", ""]
        for name, data in activity:
            lines += [f"**{name}**: {data['average_active_backends']} backends active on average", ""]
            lines += _table(["statement", "waiting", "active"],
                            [[f"`{row['statement']}`", row["waiting"], row["average_active"]]
                             for row in data["top"][:6]])
            lines.append("")
    if report.census:
        lines += ["", "## SQL statements per request (one request each, counted in-process)", ""]
        lines += _table(
            ["request", "statements", "by kind"],
            [[name, c.get("statements"), ", ".join(f"{k} x{n}" for k, n in c.get("by_kind", {}).items())]
             for name, c in report.census.items()],
        )
    if report.profiles:
        lines += ["", "## Profiles (py-spy, collapsed stacks)", "",
                  "Mode `cpu` samples only threads holding the GIL (Python burning CPU); `wall` samples every "
                  "busy thread, waits on PostgreSQL and the network included.", ""]
        for profile in report.profiles:
            lines += [f"### {profile['name']} ({profile.get('mode', '?')}, {profile['samples']} samples, "
                      f"`{profile['file']}`)", "",
                      "Top frames by own time:", ""]
            lines += _table(["frame", "%"], [[p["frame"], p["percent"]] for p in profile["top_self"][:10]])
            lines += ["", "Project functions by inclusive time:", ""]
            lines += _table(["frame", "%"], [[p["frame"], p["percent"]]
                                             for p in profile["top_inclusive_project"][:10]])
            lines.append("")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


CPU_GROUPS = ["web", "worker", "beat", "sandbox", "postgres", "redis (shared)", "other"]


def _cpu_cells(cpu: dict[str, Any]) -> list[Any]:
    return [cpu.get(group) for group in CPU_GROUPS]
