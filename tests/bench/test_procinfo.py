from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import procinfo
from bench.procinfo import CpuSnapshot, cpu_usage


def test_children_and_memory_of_a_real_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(64 << 20); time.sleep(30)"])
    try:
        for _ in range(100):
            if (procinfo.status_kib(child.pid, "VmHWM") or 0) > 60 * 1024:
                break
            time.sleep(0.05)
        assert child.pid in procinfo.children(os.getpid())
        assert child.pid in procinfo.descendants(os.getpid())
        assert procinfo.status_kib(child.pid, "VmHWM") > 60 * 1024
        assert procinfo.parent_of(child.pid) == os.getpid()
    finally:
        child.kill()
        child.wait()


def test_cpu_usage_is_cores_per_group_and_the_rest_of_the_machine() -> None:
    before = CpuSnapshot(groups={"web": {1: 10.0}, "worker": {2: 5.0}}, system_busy=100.0)
    after = CpuSnapshot(groups={"web": {1: 14.0, 3: 1.0}, "worker": {2: 6.0}}, system_busy=110.0)

    usage = cpu_usage(before, after, elapsed=5.0)

    assert usage == {"web": 1.0, "worker": 0.2, "other": 0.8}


def test_own_cpu_time_grows_when_working() -> None:
    start = procinfo.cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))

    assert procinfo.cpu_seconds(os.getpid()) > start


def test_tracker_keeps_the_cpu_of_a_process_that_exits_during_the_run() -> None:
    # given a process that burns half a second of CPU (however long a loaded machine makes that
    # take), then exits before the run ends
    burn = "import time\nwhile time.process_time() < 0.5: pass"
    child = subprocess.Popen([sys.executable, "-c", burn])  # noqa: S603 - a fixed script
    tracker = procinfo.CpuTracker(lambda: {"busy": [child.pid]}, interval=0.1).start()

    # when the run ends after it
    child.wait()
    time.sleep(0.3)
    usage = tracker.stop()

    # then its CPU still counts (a two-snapshot measurement would report nothing)
    assert tracker.seconds["busy"] >= 0.4
    assert usage["busy"] > 0
