"""A pure-Python HTTP/1.1 load generator, for machines without wrk.

Run as ``python -m bench.loadgen.pyclient SPEC.json``; it prints the same ``BENCH_JSON`` line
as the wrk scripts. Closed loop over kept-alive connections, like wrk: each connection sends
its next request when the previous answer is in. It runs in its own process so its CPU never
competes with the benchmark's own polling for one interpreter lock, and Ctrl-C (SIGINT) ends
it early with a report, as with wrk.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.stats import percentile

Request = bytes


@dataclass
class Tally:
    latencies_us: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0


def encode_request(host: str, method: str, path: str, headers: dict[str, str], body: bytes) -> Request:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool, int]:
    """(status, server closes the connection, bytes read) of one response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    size = len(head)
    if headers.get("transfer-encoding") == "chunked":
        while True:
            chunk_head = await reader.readuntil(b"\r\n")
            length = int(chunk_head.split(b";")[0], 16)
            await reader.readexactly(length + 2)
            size += len(chunk_head) + length + 2
            if length == 0:
                break
    else:
        length = int(headers.get("content-length", "0"))
        if length:
            await reader.readexactly(length)
        size += length
    return status, headers.get("connection") == "close", size


async def _connection(
    host: str, port: int, next_request: Callable[[], Request | None], tally: Tally, stop: asyncio.Event
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while not stop.is_set():
            request = next_request()
            if request is None:
                return
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(host, port)
                except OSError:
                    tally.errors["connect"] += 1
                    await asyncio.sleep(0.05)
                    continue
            started = time.perf_counter()
            try:
                writer.write(request)
                assert reader is not None  # opened together with writer
                status, closes, size = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                tally.errors["read"] += 1
                writer.close()
                reader = writer = None
                continue
            tally.latencies_us.append((time.perf_counter() - started) * 1e6)
            tally.statuses[status] += 1
            tally.bytes_read += size
            if status >= 400:
                tally.errors["status"] += 1
            if closes:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def send_requests(spec: dict[str, Any], host: str) -> Callable[[], Request | None]:
    """Message/send with a new destination per request."""
    counter = itertools.count(1)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {spec['token']}"}
    path = spec.get("path", "/api/v1/Message/send")

    def next_request() -> Request:
        n = next(counter)
        body = json.dumps(
            {
                "trafficAccountId": spec["account"],
                "destination": f"+4179{n % 10_000_000:07d}",
                "sms": {"text": spec["text"], "sender": spec["sender"]},
            }
        ).encode()
        return encode_request(host, "POST", path, headers, body)

    return next_request


def line_requests(spec: dict[str, Any], host: str) -> Callable[[], Request | None]:
    """One request per ``<path>\\t<body>`` line, each once."""
    headers = {"Content-Type": "application/json"}

    def requests() -> Iterator[Request]:
        with Path(spec["lines_file"]).open() as lines:
            for line in lines:
                path, _, body = line.rstrip("\n").partition("\t")
                yield encode_request(host, "POST", path, headers, body.encode())

    iterator = requests()
    return lambda: next(iterator, None)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    parts = urlsplit(spec["url"])
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    make = send_requests if spec["mode"] == "send" else line_requests
    next_request = make(spec, f"{host}:{port}")
    tally = Tally()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started = time.perf_counter()
    tasks = [
        asyncio.create_task(_connection(host, port, next_request, tally, stop)) for _ in range(spec["connections"])
    ]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.wait(tasks), spec["duration_seconds"])
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return summary(tally, time.perf_counter() - started)


def summary(tally: Tally, elapsed: float) -> dict[str, Any]:
    latencies = sorted(tally.latencies_us)
    return {
        "tool": "python",
        "requests": len(latencies),
        "duration_us": elapsed * 1e6,
        "bytes": tally.bytes_read,
        "latency_us": {
            **{f"p{p:g}": percentile(latencies, p, presorted=True) for p in (50, 90, 95, 99, 99.9)},
            "min": latencies[0] if latencies else 0.0,
            "max": latencies[-1] if latencies else 0.0,
            "mean": sum(latencies) / len(latencies) if latencies else 0.0,
        },
        "statuses": {str(code): n for code, n in tally.statuses.items()},
        "errors": {name: tally.errors.get(name, 0) for name in ("connect", "read", "write", "status", "timeout")},
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    result = asyncio.run(run(spec))
    sys.stdout.write("BENCH_JSON " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
