"""Posting due callbacks (delivery reports, inbound messages) to the gateway, like providers do.

Entries wait in a Redis sorted set scored by due time. One poller thread per process claims due
entries with an atomic read-and-remove script, so however many workers and senders run, each
entry is posted by exactly one of them; a small thread pool then posts them over a pooled
session. A failed POST is rescheduled with exponential backoff until the attempts run out.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
import requests
from requests.adapters import HTTPAdapter

from channels_app.sandbox.clock import iso_millis
from channels_app.sandbox.config import SandboxConfig
from channels_app.sandbox.providers.base import CallbackEvent, Provider
from channels_app.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

USER_AGENT = "gateway-provider-sandbox/1.0"
CLAIM_BATCH = 200


class CallbackSender:
    """One poller thread and a small posting pool; start once per process."""

    def __init__(
        self,
        state: SandboxState,
        providers: Mapping[str, Provider],
        config: SandboxConfig,
        *,
        session: requests.Session | None = None,
        name: str = "sandbox-callbacks",
    ) -> None:
        self.state = state
        self.providers = providers
        self.config = config
        self.name = name
        self.session = session or self._new_session(config.callback_threads)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight = 0
        self._max_inflight = max(1, config.callback_threads) * 4
        self._pool: ThreadPoolExecutor | None = None
        self._poller: threading.Thread | None = None

    @staticmethod
    def _new_session(threads: int) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=max(4, threads), max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._poller is not None and self._poller.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(max_workers=max(1, self.config.callback_threads),
                                        thread_name_prefix=f"{self.name}-post")
        self._poller = threading.Thread(target=self._run, name=f"{self.name}-poll", daemon=True)
        self._poller.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming, then let the posts already claimed finish."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout)
            self._poller = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # ---- polling -------------------------------------------------------------------------

    def _capacity(self) -> int:
        with self._lock:
            return self._max_inflight - self._inflight

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self.poll_once()
            except redis.RedisError:
                logger.exception("sandbox callback poller cannot reach Redis")
                self._stop.wait(1.0)
                continue
            except Exception:
                logger.exception("sandbox callback poller failed")
                self._stop.wait(1.0)
                continue
            if not claimed:
                self._stop.wait(self.config.poll_interval)

    def poll_once(self) -> int:
        """Claim what is due (as much as the pool can take) and hand it to the pool."""
        capacity = self._capacity()
        if capacity <= 0 or self._pool is None:
            return 0
        entries = self.state.claim_due(time.time(), min(capacity, CLAIM_BATCH))
        if not entries:
            return 0
        keys: dict[str, str | None] = {}
        for entry in entries:
            provider = self.providers.get(str(entry.get("channel")))
            keys[entry["id"]] = provider.registration_key(entry) if provider else None
        registrations = self.state.registrations_by_key(k for k in keys.values() if k)
        with self._lock:
            self._inflight += len(entries)
        for entry in entries:
            key = keys[entry["id"]]
            self._pool.submit(self._deliver_and_release, entry, registrations.get(key) if key else None)
        return len(entries)

    def _deliver_and_release(self, entry: dict[str, Any], registration: dict[str, Any] | None) -> None:
        try:
            self.deliver(entry, registration)
        except Exception:
            logger.exception("sandbox callback %s failed", entry.get("id"))
        finally:
            with self._lock:
                self._inflight -= 1

    # ---- posting -------------------------------------------------------------------------

    def deliver(self, entry: dict[str, Any], registration: Mapping[str, Any] | None) -> None:
        """Post the entry's events in order; on the first failure reschedule the rest."""
        channel = str(entry.get("channel"))
        provider = self.providers.get(channel)
        target = provider.callback_target(entry, registration) if provider else None
        if provider is None or target is None:
            self._log(entry, {"event": entry.get("report") or entry.get("kind")}, result="no_target")
            return
        events: list[CallbackEvent] = (
            entry["events"] if "events" in entry else provider.report_events(entry, registration)
        )
        for index, event in enumerate(events):
            body = json.dumps(event["body"], separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **target.sign(body)}
            started = time.perf_counter()
            status, error = self._post(target.url, body, headers)
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            if status is not None and 200 <= status < 300:
                self._log(entry, event, result="ok", url=target.url, status=status, duration_ms=duration_ms)
                continue
            attempt = int(entry.get("attempt", 0)) + 1
            if attempt >= self.config.callback_attempts:
                self._log(entry, event, result="gave_up", url=target.url, status=status, error=error,
                          duration_ms=duration_ms)
                return
            self._log(entry, event, result="retry", url=target.url, status=status, error=error,
                      duration_ms=duration_ms)
            retry = dict(entry, events=events[index:], attempt=attempt)
            self.state.schedule(retry, time.time() + self.config.callback_backoff * 2 ** (attempt - 1))
            return

    def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, str]:
        timeout = (min(2.0, self.config.callback_timeout), self.config.callback_timeout)
        try:
            response = self.session.post(url, data=body, headers=dict(headers), timeout=timeout,
                                         allow_redirects=False)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        # Drain the body so the keep-alive connection returns to the pool.
        _ = response.content
        return response.status_code, "" if response.ok else response.text[:500]

    def _log(
        self, entry: Mapping[str, Any], event: Mapping[str, Any], *, result: str, url: str = "",
        status: int | None = None, error: str = "", duration_ms: float = 0.0,
    ) -> None:
        record = {
            "at": iso_millis(),
            "entryId": entry.get("id"),
            "kind": entry.get("kind"),
            "channel": entry.get("channel"),
            "event": event.get("event"),
            "providerId": entry.get("providerId"),
            "destination": entry.get("destination"),
            "url": url,
            "statusCode": status,
            "result": result,
            "attempt": int(entry.get("attempt", 0)) + 1,
            "error": error,
            "durationMs": duration_ms,
        }
        try:
            self.state.log_callback(str(entry.get("channel")), record, result)
        except redis.RedisError:
            logger.exception("sandbox could not log callback %s", entry.get("id"))
