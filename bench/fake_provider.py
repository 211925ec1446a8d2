"""A lean Mitto SMS provider for the benchmark: one asyncio process, stdlib only.

The full sandbox simulates every provider with behaviours, recordings and a Redis-backed report
queue; on the 2-core benchmark machine it cost about as much CPU per message as the gateway
itself, so the benchmark measured its fake as much as the product. This process answers only
what the benchmark needs, in the wire format of the real thing:

* ``POST /sms`` with ``X-Mitto-API-Key`` and Mitto's JSON body (``from``, ``to``, ``text``,
  ``type``, ``reference``, ``callback``) is answered like Mitto answers an accepted SMS
  (``{"id", "timestamp", "to", "textLength", "responseCode": 0, "responseText": "SMS sent"}``),
  the same shape ``sandbox/providers/mitto.py`` answers and
  ``MittoSmsAdapter._accepted_id`` parses.
* ``POST /smsbulk`` (comma-separated ``to``) is answered like Mitto answers a bulk send,
  ``{"responseCode": 0, "responseText", "messages": [{"id", "timestamp", "to", "textLength"}]}``,
  with one report per receiver to the call's one ``callback`` URL.
* For every send with a ``callback`` URL (the gateway's DLR URL with its signed token) a
  delivery report ``{"messageId", "status": "Delivered", "errorcode": "0"}`` is POSTed to that
  very URL after ``report_delay`` seconds, the body the sandbox posts. With ``hold`` on, reports
  are kept back (the failover case: every first hop must miss its deadline).
* ``POST /hooks/<anything>`` is a customer webhook receiver: it counts what arrives (and whether
  it carries the gateway's signature headers) and answers 204.
* ``/_fake/health``, ``/_fake/stats`` (GET), ``/_fake/settings`` (PUT/POST JSON
  ``{"reportDelaySeconds", "hold"}``) and ``/_fake/reset`` (POST: drop pending reports, zero the
  counters) are the benchmark's controls.

Reports are posted by a fixed number of sender tasks, each over one persistent HTTP/1.1
connection to the gateway: due reports are taken from a heap in batches every few
milliseconds, so the fake's cost per report is a write and a read on an open socket.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import logging
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger("bench.fake_provider")

MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 1 << 20
REPORT_ATTEMPTS = 5
RETRY_SECONDS = 1.0
TICK_SECONDS = 0.005
SENDER_TIMEOUT_SECONDS = 30.0

_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 413: "Payload Too Large"}


@dataclass(order=True)
class Report:
    due: float
    seq: int
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    generation: int = field(compare=False)
    attempts: int = field(default=0, compare=False)


class FakeProvider:
    """The provider's state: pending reports, settings and counters (one event loop, no locks)."""

    def __init__(self, *, report_delay: float, hold: bool = False, senders: int = 8) -> None:
        self.report_delay = report_delay
        self.hold = hold
        self.senders = senders
        self.generation = 0
        self._seq = 0
        self.pending: list[Report] = []  # a heap by due time
        self.held: list[Report] = []
        self.queue: asyncio.Queue[Report] = asyncio.Queue()
        self.counts: Counter[str] = Counter()
        self.report_statuses: Counter[str] = Counter()
        self.webhook_events: Counter[str] = Counter()
        self.webhook_times: list[float] = []  # wall clock of the first and the latest webhook
        self.started = time.time()

    # ---- the Mitto API --------------------------------------------------------------------

    def sms(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | None]:
        if not headers.get("x-mitto-api-key", "").strip():
            self.counts["sends_unauthorised"] += 1
            return 401, {"responseText": "Invalid API key"}
        try:
            payload = json.loads(body)
        except ValueError:
            self.counts["sends_invalid"] += 1
            return 500, {"responseCode": 1, "responseText": "Malformed request body"}
        if not isinstance(payload, dict) or not payload.get("to") or not payload.get("from"):
            self.counts["sends_invalid"] += 1
            return 400, {"responseCode": 8, "responseText": "Invalid receiver"}
        provider_id = os.urandom(16).hex()
        receiver = str(payload["to"]).lstrip("+")
        self.counts["sends"] += 1
        callback = str(payload.get("callback") or "")
        if callback:
            report = json.dumps({"messageId": provider_id, "status": "Delivered", "errorcode": "0"},
                                separators=(",", ":")).encode()
            self.schedule(callback, report)
        return 200, {
            "id": provider_id,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "to": receiver,
            "textLength": len(str(payload.get("text") or "")),
            "responseCode": 0,
            "responseText": "SMS sent",
        }

    def smsbulk(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | None]:
        """Mitto's ``/smsbulk``: ``to`` is comma-separated; one id per receiver (dashed, as
        Mitto writes bulk ids) and one report per receiver to the call's one callback URL."""
        if not headers.get("x-mitto-api-key", "").strip():
            self.counts["sends_unauthorised"] += 1
            return 401, {"responseText": "Invalid API key"}
        try:
            payload = json.loads(body)
        except ValueError:
            self.counts["sends_invalid"] += 1
            return 500, {"responseCode": 1, "responseText": "Malformed request body"}
        if not isinstance(payload, dict) or not payload.get("from"):
            self.counts["sends_invalid"] += 1
            return 400, {"responseCode": 5, "responseText": "Empty sender"}
        receivers = [part.strip().lstrip("+") for part in str(payload.get("to") or "").split(",") if part.strip()]
        if not receivers:
            self.counts["sends_invalid"] += 1
            return 400, {"responseCode": 7, "responseText": "Empty receiver"}
        if not payload.get("text"):
            self.counts["sends_invalid"] += 1
            return 400, {"responseCode": 3, "responseText": "Empty message"}
        self.counts["bulk_calls"] += 1
        self.counts["sends"] += len(receivers)
        timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        text_length = len(str(payload["text"]))
        callback = str(payload.get("callback") or "")
        messages = []
        for receiver in receivers:
            raw = os.urandom(16).hex()
            provider_id = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
            messages.append({"id": provider_id, "timestamp": timestamp, "to": receiver, "textLength": text_length})
            if callback:
                report = json.dumps({"messageId": provider_id, "status": "Delivered", "errorcode": "0"},
                                    separators=(",", ":")).encode()
                self.schedule(callback, report)
        return 200, {"responseCode": 0, "responseText": "SMS sent", "messages": messages}

    def schedule(self, url: str, body: bytes) -> None:
        self._seq += 1
        report = Report(time.monotonic() + self.report_delay, self._seq, url, body, self.generation)
        if self.hold:
            self.held.append(report)
        else:
            heapq.heappush(self.pending, report)

    # ---- the customer's webhook receiver ---------------------------------------------------

    def webhook(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | None]:
        self.counts["webhooks"] += 1
        now = time.time()
        self.webhook_times = [self.webhook_times[0] if self.webhook_times else now, now]
        if headers.get("webhook-signature") and headers.get("webhook-id"):
            self.counts["webhooks_signed"] += 1
        try:
            event = json.loads(body).get("eventType", "?")
        except (ValueError, AttributeError):
            event = "unparseable"
        self.webhook_events[str(event)] += 1
        return 204, None

    # ---- controls ---------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "report_statuses": dict(self.report_statuses),
            "webhook_events": dict(self.webhook_events),
            "first_webhook_at": self.webhook_times[0] if self.webhook_times else None,
            "last_webhook_at": self.webhook_times[-1] if self.webhook_times else None,
            "pending_reports": len(self.pending) + self.queue.qsize(),
            "held_reports": len(self.held),
            "settings": self.settings(),
        }

    def settings(self) -> dict[str, Any]:
        return {"reportDelaySeconds": self.report_delay, "hold": self.hold, "senders": self.senders}

    def update_settings(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            changes = json.loads(body or b"{}")
            if "reportDelaySeconds" in changes:
                delay = float(changes["reportDelaySeconds"])
                if not 0 <= delay <= 86_400:
                    raise ValueError("reportDelaySeconds out of range")
                self.report_delay = delay
            if "hold" in changes:
                self.hold = bool(changes["hold"])
                if not self.hold:
                    for report in self.held:
                        heapq.heappush(self.pending, report)
                    self.held.clear()
        except (ValueError, TypeError, AttributeError) as exc:
            return 400, {"error": str(exc)}
        return 200, {"settings": self.settings()}

    def reset(self) -> None:
        """Forget every pending report; reports already on a connection are dropped when they
        fail (their generation is an old one) instead of being retried."""
        self.generation += 1
        self.pending.clear()
        self.held.clear()
        while not self.queue.empty():
            self.queue.get_nowait()
        self.counts.clear()
        self.report_statuses.clear()
        self.webhook_events.clear()
        self.webhook_times = []

    # ---- routing ------------------------------------------------------------------------------

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        path = path.split("?", 1)[0]
        if path in ("/sms", "/sms.json"):
            return self.sms(headers, body) if method == "POST" else (405, {"responseText": "Method not allowed"})
        if path in ("/smsbulk", "/smsbulk.json"):
            return self.smsbulk(headers, body) if method == "POST" else (405, {"responseText": "Method not allowed"})
        if path.startswith("/hooks/"):
            return self.webhook(headers, body) if method == "POST" else (405, None)
        if path == "/_fake/health":
            return 200, {"ok": True}
        if path == "/_fake/stats":
            return 200, self.stats()
        if path == "/_fake/settings":
            return self.update_settings(body) if method in ("PUT", "POST") else (200, {"settings": self.settings()})
        if path == "/_fake/reset" and method == "POST":
            self.reset()
            return 200, {"ok": True}
        return 404, {"responseText": "Not found"}

    # ---- report posting -----------------------------------------------------------------------

    async def due_mover(self) -> None:
        """Moves due reports from the heap to the senders' queue, in batches."""
        while True:
            now = time.monotonic()
            while self.pending and self.pending[0].due <= now:
                self.queue.put_nowait(heapq.heappop(self.pending))
            await asyncio.sleep(TICK_SECONDS)

    async def sender(self) -> None:
        """One persistent connection (per origin) posting reports one after the other."""
        connections: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
        while True:
            report = await self.queue.get()
            if report.generation != self.generation:
                continue
            parts = urlsplit(report.url)
            origin = parts.netloc
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            status: int | None = None
            for attempt in range(2):
                try:
                    if origin not in connections:
                        host, _, port = origin.partition(":")
                        connections[origin] = await asyncio.wait_for(
                            asyncio.open_connection(host, int(port or 80)), SENDER_TIMEOUT_SECONDS)
                    reader, writer = connections[origin]
                    writer.write(
                        f"POST {target} HTTP/1.1\r\nHost: {origin}\r\nContent-Type: application/json\r\n"
                        f"User-Agent: bench-fake-provider/1.0\r\nContent-Length: {len(report.body)}\r\n\r\n".encode()
                        + report.body
                    )
                    status, keep_alive = await asyncio.wait_for(read_response(reader), SENDER_TIMEOUT_SECONDS)
                    if not keep_alive:
                        _close(connections.pop(origin))
                    break
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    old = connections.pop(origin, None)
                    if old is not None:
                        _close(old)
                    if attempt == 1:
                        self.report_statuses[type(exc).__name__] += 1
            if status is not None:
                self.report_statuses[str(status)] += 1
            if status is not None and 200 <= status < 300:
                self.counts["reports_posted"] += 1
            elif report.generation == self.generation and report.attempts + 1 < REPORT_ATTEMPTS:
                report.attempts += 1
                report.due = time.monotonic() + RETRY_SECONDS * report.attempts
                heapq.heappush(self.pending, report)
            else:
                self.counts["reports_given_up"] += 1


def _close(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    with contextlib.suppress(Exception):
        connection[1].close()


async def read_headers(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """The first line and the (lower-cased) headers of an HTTP/1.1 message."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("headers too large")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length") or 0)
    if length > MAX_BODY_BYTES:
        raise ValueError("body too large")
    return await reader.readexactly(length) if length else b""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the connection stays open) of one response; its body is read and dropped."""
    first, headers = await read_headers(reader)
    status = int(first.split(" ", 2)[1])
    await read_body(reader, headers)
    return status, headers.get("connection", "").lower() != "close"


def encode_response(status: int, payload: Any, *, keep_alive: bool) -> bytes:
    body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += "Content-Type: application/json\r\n"
    if not keep_alive:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode() + body


def make_handler(provider: FakeProvider) -> Any:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    first, headers = await read_headers(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, _, rest = first.partition(" ")
                path = rest.rsplit(" ", 1)[0]
                try:
                    body = await read_body(reader, headers)
                except ValueError:
                    writer.write(encode_response(413, {"responseText": "Too large"}, keep_alive=False))
                    return
                status, payload = provider.route(method, path, headers, body)
                keep_alive = headers.get("connection", "").lower() != "close"
                writer.write(encode_response(status, payload, keep_alive=keep_alive))
                await writer.drain()
                if not keep_alive:
                    return
        except (asyncio.LimitOverrunError, ValueError, ConnectionError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    return handle


async def serve(host: str, port: int, provider: FakeProvider) -> None:
    server = await asyncio.start_server(make_handler(provider), host, port, limit=MAX_HEADER_BYTES * 4,
                                        backlog=1024)
    tasks = [asyncio.create_task(provider.due_mover())]
    tasks += [asyncio.create_task(provider.sender()) for _ in range(provider.senders)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    logger.info("fake provider on %s:%d (report delay %.3f s, hold %s, %d senders)",
                host, port, provider.report_delay, provider.hold, provider.senders)
    async with server:
        await stop.wait()
    for task in tasks:
        task.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fake_provider", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--report-delay", type=float, default=0.05, help="seconds from send to delivery report")
    parser.add_argument("--hold", action="store_true", help="keep delivery reports back until released")
    parser.add_argument("--senders", type=int, default=8, help="persistent connections posting reports")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    provider = FakeProvider(report_delay=args.report_delay, hold=args.hold, senders=max(1, args.senders))
    asyncio.run(serve(args.host, args.port, provider))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
