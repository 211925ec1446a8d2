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
from bench.procinfo import GATEWAY_GROUPS

_OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


def _lookup(metrics: dict[str, Any], dotted: str) -> Any:
    value: Any = metrics
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@dataclass(frozen=True)
class Target:
    label: str
    scenario: str
    case: str | None  # None: the scenario's only (or first) case
    metric: str
    op: str
    goal: float
    unit: str
    # Where the run says whether it finished (a dotted name like ``metric``).
    complete_key: str = "complete"

    def value_in(self, metrics: dict[str, Any]) -> float | None:
        """The metric of a run's (or the median's) metrics; a dotted name reaches into a mapping."""
        value = _lookup(metrics, self.metric)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def check(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return _OPS[self.op](float(value), self.goal)


# The targets. A case of None is the scenario's only (or first) case, whatever its size:
# quick mode measures the same thing smaller.
TARGETS = [
    Target("gateway CPU per end-to-end SMS", "end_to_end", None, "gateway_cpu.gateway_ms", "<=", 4, "ms",
           complete_key="gateway_cpu.complete"),
    Target("single send c=16 throughput", "single_send", "c=16", "requests_per_second", ">=", 500, "req/s"),
    Target("single send c=16 p99 latency", "single_send", "c=16", "latency_p99_ms", "<=", 50, "ms"),
    Target("end to end throughput", "end_to_end", None, "messages_per_second", ">=", 400, "msg/s"),
    Target("report ingest throughput", "dlr_ingest", None, "callbacks_per_second", ">=", 1500, "reports/s"),
    Target("report ingest p99 latency", "dlr_ingest", None, "latency_p99_ms", "<=", 50, "ms"),
    Target("sendbulk 10k accept", "sendbulk", "10k", "accept_seconds", "<=", 1, "s"),
    Target("sendbulk 10k web peak memory", "sendbulk", "10k", "web_peak_mb", "<", 300, "MB"),
    Target("sendbulk 100k accept", "sendbulk", "100k", "accept_seconds", "<=", 10, "s"),
    Target("sendbulk 100k web peak memory", "sendbulk", "100k", "web_peak_mb", "<", 300, "MB"),
    Target("failover lag p99", "failover", None, "lag_p99_seconds", "<=", 1.0, "s"),
]

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
    calibration_ms: float | None = None  # the calibration loop when the benchmark started
    statements_unavailable: str = ""
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
            value = target.value_in(result.median) if result else None
            rows.append(
                {
                    "label": target.label,
                    "goal": f"{target.op} {target.goal:g} {target.unit}",
                    "measured": value,
                    "unit": target.unit,
                    "met": target.check(value),
                    "run": result is not None,
                    # A run cut short (quick mode's wait cap, a stalled pipeline) gives a rate, not a total.
                    "complete": _lookup(result.median, target.complete_key) is not False if result else None,
                }
            )
        return rows

    def gateway_cpu(self) -> list[dict[str, Any]]:
        """Gateway CPU per item of every case (median run), with the rate it would allow on
        every core of this machine: a target above that ceiling needs less CPU, not fewer waits."""
        rows = []
        cpus = os.cpu_count() or 1
        for result in self.cases:
            cpu = result.median.get("gateway_cpu")
            if not isinstance(cpu, dict):
                continue
            gateway_ms = float(cpu.get("gateway_ms") or 0.0)
            rows.append({"case": f"{result.scenario} {result.case}", **cpu,
                         "ceiling_per_second": round(cpus * 1000 / gateway_ms, 1) if gateway_ms > 0 else None})
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
            "calibration_ms_at_start": self.calibration_ms,
            "targets": self.targets(),
            "cases": [
                {"scenario": c.scenario, "title": c.title, "case": c.case, "params": c.params, "median": c.median,
                 "runs": c.runs}
                for c in self.cases
            ],
            "gateway_cpu_per_item": self.gateway_cpu(),
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
        f"- stack: web {cfg['web']}, celery {cfg['celery']}, provider {cfg['provider']}",
        f"- load generator: {report.loadgen or '-'}; runs per case: {cfg['runs_per_case']} (median shown)",
        f"- calibration loop at the start: {_fmt(report.calibration_ms)} ms (fixed pure-Python work timed in "
        "the benchmark process before and after every run; the per-run figures are next to each result: "
        "a slower loop means a busier machine)",
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
        header = ["case", *[label for _, label in module.COLUMNS], "gateway CPU ms/item", "accepted", "final",
                  "pending", "missing (worst run)", "calibration ms before/after"]
        body: list[list[Any]] = []
        for result in results:
            error = result.median.get("error")
            if error:
                body.append([result.case, f"error: {error}"] + [""] * (len(header) - 2))
                continue
            accounting = result.median.get("accounting") or {}
            calibration = result.median.get("calibration_ms") or {}
            body.append([
                result.case, *[result.median.get(metric) for metric, _ in module.COLUMNS],
                (result.median.get("gateway_cpu") or {}).get("gateway_ms"),
                accounting.get("accepted"), accounting.get("final"), accounting.get("pending"),
                worst_missing(result),
                f"{_fmt(calibration.get('before'))} / {_fmt(calibration.get('after'))}",
            ])
        lines += _table(header, body)
    lines += ["", "`missing` is accepted minus the messages stored: above 0 is a message the gateway answered "
              "for and lost. For single sends it may go down to minus the concurrency: requests the load "
              "generator abandoned when its time was up, which the gateway still accepted and stored. "
              "`pending` are still Scheduled, Ready, Sending or Sent when counted (the failover case holds "
              "every report back, so its first hops stay Sent; sendbulk is counted right after the accept). "
              "Cases c and f measure CPU on after a capped run until its messages are done (bounded), so "
              "their CPU per item divides by everything that got done."]
    cpu_rows = [
        [f"{c.scenario} {c.case}", *_cpu_cells(c.median.get("cpu_cores", {})), c.median.get("load_average_before"),
         c.median.get("db_round_trip_ms_before", {}).get("p50"), c.median.get("db_round_trip_ms_before", {}).get("p99")]
        for c in report.cases
    ]
    if cpu_rows:
        lines += ["", "## The machine during each case (median run)", ""]
        lines += _table(["case", *[f"{g} cores" for g in CPU_GROUPS], "load avg before", "SELECT 1 p50 ms",
                         "SELECT 1 p99 ms"], cpu_rows)
        lines += ["", "Cores: CPU time per process group over the run's wall time. `provider` is the fake "
                  "provider, `bench` this script with its load generator, `other` the rest of the machine "
                  "(other engineers' test runs make a run noisy). `SELECT 1` is the PostgreSQL round trip "
                  "from this process just before the run (about 0.1 ms on an idle machine)."]
    budget = report.gateway_cpu()
    if budget:
        lines += ["", "## Gateway CPU per item (median run)", ""]
        lines += _table(
            ["case", "items", "gateway ms", *[f"{g} ms" for g in GATEWAY_GROUPS], "CPU ceiling /s",
             "fake provider ms", "load generator ms", "other ms"],
            [[row["case"], row["items"], row["gateway_ms"], *[row["by_group_ms"].get(g) for g in GATEWAY_GROUPS],
              row["ceiling_per_second"], row["provider_ms"], row["loadgen_ms"], row["other_ms"]] for row in budget],
        )
        lines += ["", "CPU seconds the gateway's processes (web, Celery workers, beat, the PostgreSQL backends of "
                  "the benchmark database, Redis) used over the run, divided by the case's items (accepted sends, "
                  "destinations, Delivered messages, ingested reports, triggered hops, webhooks received). The fake "
                  "provider and the benchmark process with its load generator are measured apart and not included. "
                  "Redis is the shared server, so other users' traffic counts in its share. The ceiling is the "
                  "rate at which the gateway alone would use every core of this machine."]
    lines += _statements_section(report)
    sampled = [(f"{c.scenario} {c.case}", c.runs[0].get("postgres_activity")) for c in report.cases if c.runs]
    activity: list[tuple[str, dict[str, Any]]] = [(name, a) for name, a in sampled if a and a.get("top")]
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


CPU_GROUPS = ["web", "worker", "housekeeping", "beat", "postgres", "redis (shared)", "provider", "bench", "other"]


def worst_missing(result: CaseResult) -> int | None:
    """The largest number of lost messages over the case's runs (a median would hide one loss)."""
    found = [run["accounting"]["missing"] for run in result.runs if isinstance(run.get("accounting"), dict)]
    return max(found) if found else None


def _statements_section(report: Report) -> list[str]:
    lines = ["", "## Top statements by total time (pg_stat_statements, first run of each case)", ""]
    if report.statements_unavailable:
        return [*lines, f"**{report.statements_unavailable}**: no statement statistics in this report."]
    shown = False
    for case in report.cases:
        data = case.runs[0].get("postgres_statements") if case.runs else None
        if not isinstance(data, dict):
            continue
        shown = True
        if not data.get("available"):
            lines += [f"**{case.scenario} {case.case}**: {data.get('reason')}", ""]
            continue
        lines += [f"**{case.scenario} {case.case}**: {_fmt(data.get('calls'))} statements, "
                  f"{_fmt(data.get('total_ms'))} ms in total" + ("" if data.get("reset") else
                                                                 " (reset refused: difference of two snapshots)"), ""]
        lines += _table(["statement", "calls", "total ms", "mean ms", "rows"],
                        [[f"`{row['query']}`", row["calls"], row["total_ms"], row["mean_ms"], row["rows"]]
                         for row in data.get("top", [])[:8]])
        lines.append("")
    return lines if shown else []


def _cpu_cells(cpu: dict[str, Any]) -> list[Any]:
    return [cpu.get(group) for group in CPU_GROUPS]
