from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.config import BenchConfig
from bench.report import CaseResult, Report, cpu_per_item, render_markdown
from bench.scenarios import SCENARIOS


def _report(tmp_path: Path) -> Report:
    config = BenchConfig.from_env(quick=True, run_id="20260101-000000", results_dir=tmp_path, environ={})
    report = Report(config=config, started_at=datetime.now(UTC), loadgen="wrk")
    report.cases = [
        CaseResult("single_send", "a", "c=16", {}, median={"requests_per_second": 1700.0, "latency_p99_ms": 31.0,
                                                           "cpu_cores": {"web": 1.5}}),
        CaseResult("end_to_end", "c", "5k", {}, median={"messages_per_second": 900.0, "complete": False}),
        CaseResult("failover", "e", "10k", {}, median={"error": "ScenarioFailed: sendbulk answered 500"}),
    ]
    return report


def test_targets_compare_the_median_with_the_goal(tmp_path: Path) -> None:
    rows = {row["label"]: row for row in _report(tmp_path).targets()}

    assert rows["single send c=16 throughput"]["met"] is True
    assert rows["single send c=16 p99 latency"]["met"] is False
    assert rows["end to end throughput"]["complete"] is False
    assert rows["sendbulk 100k accept"]["run"] is False
    assert rows["failover lag (max)"]["measured"] is None


def test_markdown_puts_each_target_next_to_its_measured_value(tmp_path: Path) -> None:
    text = render_markdown(_report(tmp_path), SCENARIOS)

    assert "| single send c=16 throughput | >= 1600 req/s | 1,700.0 req/s | yes |" in text
    assert "| single send c=16 p99 latency | < 25 ms | 31.0 ms | **no** |" in text
    assert "900.0 msg/s (run incomplete)" in text
    assert "| sendbulk 100k accept | <= 3 s | - | not run |" in text
    assert "error: ScenarioFailed: sendbulk answered 500" in text


def test_write_creates_the_json_and_markdown_next_to_each_other(tmp_path: Path) -> None:
    json_path, md_path = _report(tmp_path).write()

    assert json_path == tmp_path / "20260101-000000.json"
    assert md_path.read_text().startswith("# Benchmark 20260101-000000 (quick)")
    assert '"requests_per_second": 1700.0' in json_path.read_text()


def test_cpu_per_item_divides_each_groups_cores_by_the_rate() -> None:
    cores = {"web": 0.8, "worker": 0.4, "postgres": 0.3, "sandbox": 0.2, "redis (shared)": 0.1, "other": 0.2}

    budget = cpu_per_item(cores, 50.0, 2)

    assert budget is not None
    assert budget["ms_per_item"]["web"] == 16.0
    assert budget["ms_per_item"]["other"] == 4.0
    assert budget["stack_ms_per_item"] == 36.0  # the load generator's share (other) left out
    assert budget["ceiling_per_second"] == 55.6  # 2 cores of 36 ms each


def test_cpu_per_item_of_a_case_that_moved_nothing_is_none() -> None:
    assert cpu_per_item({"web": 0.5}, 0.0, 2) is None


def test_markdown_shows_the_cpu_ceiling_of_each_throughput_case(tmp_path: Path) -> None:
    text = render_markdown(_report(tmp_path), SCENARIOS)

    assert "## CPU per item, and the throughput it allows (median run)" in text
    # single send: 1.5 web cores at 1,700 req/s
    assert "| single_send c=16 | send | 1,700.0 | 0.880 |" in text
