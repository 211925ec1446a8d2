from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.config import BenchConfig
from bench.procinfo import gateway_cpu_per_item
from bench.report import CaseResult, Report, render_markdown
from bench.scenarios import SCENARIOS

E2E_RUN = {
    "messages_per_second": 900.0, "complete": False,
    "gateway_cpu": gateway_cpu_per_item({"web": 10.0, "worker": 6.0, "postgres": 4.0, "provider": 1.0,
                                         "bench": 2.0}, 5000),
    "accounting": {"accepted": 5000, "stored": 5000, "final": 4990, "pending": 10, "missing": 0},
    "calibration_ms": {"before": 21.5, "after": 23.0},
    "postgres_statements": {"available": True, "reset": True, "calls": 20000, "total_ms": 900.0,
                            "top": [{"query": "UPDATE channels_app_message SET status = $1", "calls": 5000,
                                     "total_ms": 400.0, "mean_ms": 0.08, "rows": 5000}]},
}


def _report(tmp_path: Path) -> Report:
    config = BenchConfig.from_env(quick=True, run_id="20260101-000000", results_dir=tmp_path, environ={})
    report = Report(config=config, started_at=datetime.now(UTC), loadgen="wrk", calibration_ms=20.0)
    lossy_run = {**E2E_RUN, "accounting": {**E2E_RUN["accounting"], "stored": 4997, "missing": 3}}
    report.cases = [
        CaseResult("single_send", "a", "c=16", {}, median={"requests_per_second": 600.0, "latency_p99_ms": 61.0,
                                                           "cpu_cores": {"web": 1.5}}),
        CaseResult("end_to_end", "c", "5k", {}, runs=[E2E_RUN, lossy_run, E2E_RUN], median=E2E_RUN),
        CaseResult("failover", "e", "10k", {}, median={"error": "ScenarioFailed: sendbulk answered 500"}),
    ]
    return report


def test_targets_compare_the_median_with_the_goal(tmp_path: Path) -> None:
    rows = {row["label"]: row for row in _report(tmp_path).targets()}

    assert rows["single send c=16 throughput"]["met"] is True
    assert rows["single send c=16 p99 latency"]["met"] is False
    assert rows["end to end throughput"]["complete"] is False
    assert rows["sendbulk 100k accept"]["run"] is False
    assert rows["failover lag p99"]["measured"] is None
    # 22 CPU seconds of web, worker and PostgreSQL over 5,000 messages
    assert rows["gateway CPU per end-to-end SMS"]["measured"] == 4.0
    assert rows["gateway CPU per end-to-end SMS"]["met"] is True


def test_markdown_puts_each_target_next_to_its_measured_value(tmp_path: Path) -> None:
    text = render_markdown(_report(tmp_path), SCENARIOS)

    assert "| single send c=16 throughput | >= 500 req/s | 600.0 req/s | yes |" in text
    assert "| single send c=16 p99 latency | <= 50 ms | 61.0 ms | **no** |" in text
    assert "900.0 msg/s (run incomplete)" in text
    assert "| sendbulk 100k accept | <= 10 s | - | not run |" in text
    assert "error: ScenarioFailed: sendbulk answered 500" in text


def test_each_result_carries_its_cpu_accounting_and_calibration(tmp_path: Path) -> None:
    text = render_markdown(_report(tmp_path), SCENARIOS)

    # msg/s, accept s, all sent s, all delivered s, delivered, then gateway CPU, accounting, calibration;
    # "missing" is the worst run's, not the median's
    assert "| 5k | 900.0 | - | - | - | - | 4.000 | 5,000 | 4,990 | 10 | 3 | 21.5 / 23.0 |" in text
    assert "calibration loop at the start: 20.0 ms" in text


def test_gateway_cpu_leaves_the_fake_provider_and_the_load_generator_out() -> None:
    cpu = gateway_cpu_per_item({"web": 1.0, "worker": 0.5, "postgres": 0.25, "redis (shared)": 0.25,
                                "provider": 3.0, "bench": 5.0, "other": 0.5}, 1000)

    assert cpu is not None
    assert cpu["gateway_ms"] == 2.0
    assert cpu["by_group_ms"]["web"] == 1.0
    assert (cpu["provider_ms"], cpu["loadgen_ms"], cpu["other_ms"]) == (3.0, 5.0, 0.5)
    assert gateway_cpu_per_item({"web": 1.0}, 0) is None


def test_markdown_shows_gateway_cpu_per_item_and_the_top_statements(tmp_path: Path) -> None:
    text = render_markdown(_report(tmp_path), SCENARIOS)

    assert "## Gateway CPU per item (median run)" in text
    # 2 cores / 4 ms = 500 items/s ceiling (the test machine's core count varies: only the start)
    assert "| end_to_end 5k | 5,000 | 4.000 | 2.000 | 1.200 | 0.000 | 0.000 | 0.800 | 0.000 |" in text
    assert "| `UPDATE channels_app_message SET status = $1` | 5,000 | 400.0 | 0.080 | 5,000 |" in text


def test_markdown_says_when_pg_stat_statements_is_not_loaded(tmp_path: Path) -> None:
    report = _report(tmp_path)
    report.statements_unavailable = "pg_stat_statements not loaded"

    text = render_markdown(report, SCENARIOS)

    assert "**pg_stat_statements not loaded**: no statement statistics in this report." in text


def test_write_creates_the_json_and_markdown_next_to_each_other(tmp_path: Path) -> None:
    json_path, md_path = _report(tmp_path).write()

    assert json_path == tmp_path / "20260101-000000.json"
    assert md_path.read_text().startswith("# Benchmark 20260101-000000 (quick)")
    assert '"requests_per_second": 600.0' in json_path.read_text()
    assert '"calibration_ms_at_start": 20.0' in json_path.read_text()
