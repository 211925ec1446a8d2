"""The load generators against a local server: every prepared request is sent exactly once,
statuses are counted, and the report line parses into rates and milliseconds."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from bench.loadgen import LoadGenerator, LoadSpec, parse_output
from tests.bench.conftest import RecordingServer

LINES = 301  # not a multiple of the thread count


def _lines_file(tmp_path: Path) -> Path:
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"/callbacks/sms/dlr?token=t{n}\t{json.dumps({'n': n})}\n" for n in range(LINES)))
    return path


def _run_lines(tool: str, server: RecordingServer, tmp_path: Path) -> None:
    generator = LoadGenerator(tool=tool, wrk_path=shutil.which("wrk"), python=sys.executable, work_dir=tmp_path)
    spec = LoadSpec(url=server.url, mode="lines", connections=8, duration_seconds=20, lines_file=_lines_file(tmp_path),
                    lines=LINES, threads=2)
    load = generator.process(spec).start()
    deadline = time.monotonic() + 20
    while len({body for _, _, body in server.received}) < LINES and time.monotonic() < deadline:
        time.sleep(0.05)
    load.interrupt()
    result = load.finish(timeout=30)
    # The last answers may still be in flight when the server has seen every line.
    assert set(result.statuses) == {"200"}
    assert result.requests >= LINES - spec.connections


def test_python_client_posts_every_line_exactly_once(recording_server: RecordingServer, tmp_path: Path) -> None:
    _run_lines("python", recording_server, tmp_path)

    bodies = sorted(json.loads(body)["n"] for _, _, body in recording_server.received)
    assert bodies == list(range(LINES))
    assert {path.split("=")[1] for path, _, _ in recording_server.received} == {f"t{n}" for n in range(LINES)}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_lines_script_posts_every_line(recording_server: RecordingServer, tmp_path: Path) -> None:
    # wrk calls request() once to check the script before the run: no line may be lost to it.
    _run_lines("wrk", recording_server, tmp_path)

    assert {json.loads(body)["n"] for _, _, body in recording_server.received} == set(range(LINES))


@pytest.mark.parametrize("tool", ["python", "wrk"])
def test_send_mode_varies_the_destination_and_counts_statuses(
    tool: str, recording_server: RecordingServer, tmp_path: Path
) -> None:
    if tool == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed")
    recording_server.status_for["/api/v1/Message/send"] = 202
    generator = LoadGenerator(tool=tool, wrk_path=shutil.which("wrk"), python=sys.executable, work_dir=tmp_path)
    spec = LoadSpec(url=recording_server.url, mode="send", connections=4, duration_seconds=1, token="tkn",
                    account="acc", text="hello", sender="Brand", threads=2)

    result = generator.process(spec).start().finish(timeout=30)

    received = recording_server.received
    assert result.requests >= 10
    assert result.statuses == {"202": result.requests}
    assert result.non_2xx == 0
    assert {auth for _, auth, _ in received} == {"Bearer tkn"}
    bodies = [json.loads(body) for _, _, body in received]
    assert len({b["destination"] for b in bodies}) == len(bodies)
    assert all(b["destination"].startswith("+4179") and len(b["destination"]) == 12 for b in bodies)
    assert bodies[0]["sms"] == {"text": "hello", "sender": "Brand"} and bodies[0]["trafficAccountId"] == "acc"


def test_report_line_is_converted_to_milliseconds_and_rates() -> None:
    line = ('BENCH_JSON {"tool":"wrk","requests":500,"duration_us":2000000,"bytes":1,'
            '"latency_us":{"p50":1500,"p99":20000},"statuses":{"200":480,"409":20},'
            '"errors":{"connect":0,"read":1,"write":0,"status":20,"timeout":0}}')

    result = parse_output("Running 2s test\n" + line + "\n")

    assert result.requests_per_second == 250
    assert result.latency_ms == {"p50": 1.5, "p99": 20.0}
    assert result.non_2xx == 20
    assert result.errors["read"] == 1


def test_output_without_a_report_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="BENCH_JSON"):
        parse_output("unable to connect to 127.0.0.1:1 Connection refused\n")
