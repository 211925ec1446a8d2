"""The benchmark's handle on its fake provider (``bench/fake_provider.py``): settings, reset, counters."""

from __future__ import annotations

from typing import Any

import requests


class FakeProviderClient:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout

    def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        response = self.session.request(method, f"{self.base_url}/_fake/{path}", json=json, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def health(self) -> bool:
        return bool(self._call("GET", "health").get("ok"))

    def reset(self) -> None:
        """Drop every pending and held report and zero the counters."""
        self._call("POST", "reset")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def update_settings(self, *, report_delay_seconds: float | None = None, hold: bool | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if report_delay_seconds is not None:
            body["reportDelaySeconds"] = report_delay_seconds
        if hold is not None:
            body["hold"] = hold
        return self._call("PUT", "settings", json=body)["settings"]

    def webhook_url(self, name: str = "bench") -> str:
        """A customer webhook URL this fake receives and counts."""
        return f"{self.base_url}/hooks/{name}"
