"""A thin client for the sandbox's control API, for tests, ``make run`` and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import requests

T = TypeVar("T")

# Python keyword arguments of ``set_behaviour`` and their control API names.
_BEHAVIOUR_FIELDS = {
    "error_code": "errorCode",
    "error_text": "errorText",
    "retry_after": "retryAfter",
    "times": "times",
    "timeout_seconds": "timeoutSeconds",
    "report": "report",
    "report_delay_seconds": "reportDelaySeconds",
}


def _path(segment: str) -> str:
    """One URL path segment; the sandbox decodes it back ("+" and "/" included)."""
    return quote(segment, safe="")


class SandboxError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"sandbox answered {status}: {message}")
        self.status = status
        self.message = message


class SandboxClient:
    def __init__(self, base_url: str, *, session: requests.Session | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def _call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_sandbox/{path.lstrip('/')}", json=json,
            params={k: v for k, v in (params or {}).items() if v is not None}, timeout=self.timeout,
        )
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": response.text}
        if response.status_code >= 400:
            raise SandboxError(response.status_code, str(payload.get("error", payload)))
        return payload

    # ---- state ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def reset(self) -> None:
        """Forget behaviours, registrations, recordings, templates and pending callbacks."""
        self._call("POST", "reset")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def settings(self) -> dict[str, str]:
        return self._call("GET", "settings")["settings"]

    def update_settings(
        self, *, template_status: str | None = None, report_delay_seconds: float | None = None
    ) -> dict[str, str]:
        body: dict[str, Any] = {}
        if template_status is not None:
            body["templateStatus"] = template_status
        if report_delay_seconds is not None:
            body["reportDelaySeconds"] = report_delay_seconds
        return self._call("PUT", "settings", json=body)["settings"]

    # ---- recordings ----------------------------------------------------------------------

    def requests(
        self, *, channel: str | None = None, destination: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded provider requests, oldest first (``limit`` keeps the newest)."""
        params = {"channel": channel, "destination": destination, "limit": limit}
        return self._call("GET", "requests", params=params)["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def callbacks(self, *, channel: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Callback POST outcomes, oldest first."""
        return self._call("GET", "callbacks", params={"channel": channel, "limit": limit})["callbacks"]

    def clear_callbacks(self) -> None:
        self._call("DELETE", "callbacks")

    # ---- behaviours ----------------------------------------------------------------------

    def set_behaviour(self, destination: str, outcome: str = "success", **fields: Any) -> dict[str, Any]:
        """``set_behaviour("41791234567", "fail", error_code=8, times=2, report="read")``."""
        unknown = sorted(set(fields) - set(_BEHAVIOUR_FIELDS))
        if unknown:
            raise TypeError(f"unknown behaviour fields: {', '.join(unknown)}")
        body = {"outcome": outcome}
        body.update({_BEHAVIOUR_FIELDS[k]: v for k, v in fields.items() if v is not None})
        return self._call("PUT", f"behaviours/{_path(destination)}", json=body)["behaviour"]

    def behaviour(self, destination: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", f"behaviours/{_path(destination)}")["behaviour"]
        except SandboxError as exc:
            if exc.status == 404:
                return None
            raise

    def behaviours(self) -> dict[str, dict[str, Any]]:
        """Every stored behaviour by destination."""
        return self._call("GET", "behaviours")["behaviours"]

    def clear_behaviour(self, destination: str) -> None:
        self._call("DELETE", f"behaviours/{_path(destination)}")

    def clear_behaviours(self) -> None:
        self._call("DELETE", "behaviours")

    # ---- where callbacks go --------------------------------------------------------------

    def register_whatsapp(
        self, phone_number_id: str, *, webhook_url: str, app_secret: str, waba_id: str = "",
        display_phone_number: str = "",
    ) -> dict[str, Any]:
        body = {"webhookUrl": webhook_url, "appSecret": app_secret, "wabaId": waba_id,
                "displayPhoneNumber": display_phone_number}
        return self._call("PUT", f"whatsapp/{_path(phone_number_id)}", json=body)["registration"]

    def register_gbm(self, *, webhook_url: str, client_token: str, agent: str = "") -> dict[str, Any]:
        body = {"webhookUrl": webhook_url, "clientToken": client_token, "agent": agent}
        return self._call("PUT", "gbm", json=body)["registration"]

    def register_viber(self, auth_token: str, *, url: str, event_types: list[str] | None = None) -> dict[str, Any]:
        """What ``/pa/set_webhook`` stores, without the webhook check event."""
        body: dict[str, Any] = {"url": url}
        if event_types is not None:
            body["event_types"] = event_types
        return self._call("PUT", f"viber/{_path(auth_token)}", json=body)["registration"]

    def register_telegram(self, bot_token: str, *, url: str, secret_token: str = "") -> dict[str, Any]:
        """What ``setWebhook`` stores."""
        body = {"url": url, "secret_token": secret_token}
        return self._call("PUT", f"telegram/{_path(bot_token)}", json=body)["registration"]

    def registration(self, channel: str, account: str = "") -> dict[str, Any] | None:
        path = "gbm" if channel == "gbm" else f"{channel}/{_path(account)}"
        try:
            return self._call("GET", path)["registration"]
        except SandboxError as exc:
            if exc.status == 404:
                return None
            raise

    # ---- inbound -------------------------------------------------------------------------

    def inject_inbound(
        self, channel: str, *, account: str, sender: str, text: str | None = None,
        message_type: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Make the provider post a user's message to the gateway; returns the posted bodies.

        ``fields`` go through as-is (``name``, ``mediaUrl``, ``payload``, ``to``, ``event``, ...).
        """
        body = {"channel": channel, "account": account, "from": sender, **fields}
        if text is not None:
            body["text"] = text
        if message_type is not None:
            body["type"] = message_type
        return self._call("POST", "inbound", json=body)

    # ---- waiting -------------------------------------------------------------------------

    def wait_for_callbacks(
        self, count: int, *, channel: str | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        return _wait(lambda: self.callbacks(channel=channel), count, timeout)


def _wait(fetch: Callable[[], list[T]], count: int, timeout: float) -> list[T]:
    deadline = time.monotonic() + timeout
    while True:
        found = fetch()
        if len(found) >= count or time.monotonic() >= deadline:
            if len(found) < count:
                raise TimeoutError(f"expected {count} items within {timeout}s, found {len(found)}")
            return found
        time.sleep(0.02)
