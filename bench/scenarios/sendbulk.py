"""b. Messages/sendbulk: how long the POST takes, and the peak memory of the web worker that
served it.

Peak memory is ``VmHWM`` of the gunicorn worker; it is reset to the current RSS before the
request (``/proc/<pid>/clear_refs``), or web is restarted where that is not allowed. The worker
that served the bulk is the one whose peak grew the most.
"""

from __future__ import annotations

import time
from typing import Any

from bench import procinfo
from bench.config import Sizes
from bench.scenarios.common import SENDBULK_PATH, BenchContext, Case, ScenarioFailed, destinations, sms_bulk_body

NAME = "sendbulk"
# Accounting counts right after the accept: the messages are stored (Ready), not yet sent.
ACCOUNTING = {"settle": False}
TITLE = "b. Messages/sendbulk accept"
COLUMNS = [
    ("accept_seconds", "accept s"),
    ("web_peak_mb", "web peak MB"),
    ("web_peak_growth_mb", "growth MB"),
    ("response_mb", "response MB"),
]


def cases(sizes: Sizes) -> list[Case]:
    return [Case(f"{n // 1000}k", {"destinations": n}) for n in sizes.bulk_sizes]


def _reset_peaks(ctx: BenchContext) -> list[int]:
    workers = ctx.stack.web_workers()
    if not workers or not all(procinfo.reset_peak_rss(pid) for pid in workers):
        ctx.stack.restart_web()
        ctx.api.login()
        workers = ctx.stack.web_workers()
    return workers


def run(ctx: BenchContext, case: Case) -> dict[str, Any]:
    count = case.params["destinations"]
    body = sms_bulk_body(account=ctx.accounts.primary_sms, numbers=destinations("+4178", 0, count))
    workers = _reset_peaks(ctx)
    rss_before = {pid: procinfo.status_kib(pid, "VmRSS") or 0 for pid in workers}
    started = time.perf_counter()
    response = ctx.api.post_json_bytes(SENDBULK_PATH, body)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise ScenarioFailed(f"sendbulk of {count} answered {response.status_code}: {response.text[:300]}")
    peaks = {pid: procinfo.status_kib(pid, "VmHWM") or 0 for pid in workers}
    served_by = max(workers, key=lambda pid: peaks[pid] - rss_before[pid])
    accepted = len(response.json()["messages"])
    return {
        "destinations": count,
        "accepted": accepted,
        "items": accepted,
        "accept_seconds": round(elapsed, 3),
        "destinations_per_second": round(count / elapsed, 1),
        "request_mb": round(len(body) / 1e6, 2),
        "response_mb": round(len(response.content) / 1e6, 2),
        "web_peak_mb": round(peaks[served_by] / 1024, 1),
        "web_peak_growth_mb": round((peaks[served_by] - rss_before[served_by]) / 1024, 1),
        "web_rss_before_mb": round(rss_before[served_by] / 1024, 1),
    }
