"""The control API under ``/_sandbox/``: behaviours, registrations, recordings, inbound injection.

Tests, ``make run`` and benchmarks drive the sandbox through it (see ``client.SandboxClient``).
It is off the hot path, so it favours clear validation over speed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.behaviours import InvalidBehaviour, normalise, normalise_destination
from sandbox.config import SandboxConfig
from sandbox.providers import CHANNEL_ALIASES
from sandbox.providers.base import InboundError, Provider
from sandbox.providers.gbm import REGISTRATION as GBM_REGISTRATION
from sandbox.providers.gbm import REGISTRATION_ACCOUNT as GBM_ACCOUNT
from sandbox.providers.telegram import REGISTRATION as TELEGRAM_REGISTRATION
from sandbox.providers.viber import ALL_EVENT_TYPES
from sandbox.providers.viber import REGISTRATION as VIBER_REGISTRATION
from sandbox.providers.whatsapp import REGISTRATION as WHATSAPP_REGISTRATION
from sandbox.providers.whatsapp import TEMPLATE_STATUSES
from sandbox.state import SandboxState
from sandbox.web import BadRequest, Request, Response, json_response


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _object(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except BadRequest as exc:
        raise ControlError(400, str(exc)) from exc
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _url(value: Any, field: str) -> str:
    url = str(value or "")
    if not url.startswith(("http://", "https://")):
        raise ControlError(400, f"{field} must be an http(s) URL")
    return url


def _required(body: Mapping[str, Any], field: str) -> str:
    value = body.get(field)
    if value in (None, ""):
        raise ControlError(400, f"{field} is required")
    return str(value)


def _limit(request: Request) -> int | None:
    raw = request.query.get("limit", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise ControlError(400, "limit must be a non-negative integer")
    return int(raw)


# Each registration: its state kind and how a PUT body becomes the stored registration.
def _whatsapp_registration(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "webhookUrl": _url(body.get("webhookUrl"), "webhookUrl"),
        "appSecret": _required(body, "appSecret"),
        "wabaId": str(body.get("wabaId") or ""),
        "displayPhoneNumber": str(body.get("displayPhoneNumber") or ""),
    }


def _gbm_registration(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "webhookUrl": _url(body.get("webhookUrl"), "webhookUrl"),
        "clientToken": _required(body, "clientToken"),
        "agent": str(body.get("agent") or ""),
    }


def _viber_registration(body: Mapping[str, Any]) -> dict[str, Any]:
    event_types = body.get("event_types")
    return {
        "url": _url(body.get("url"), "url"),
        "event_types": event_types if isinstance(event_types, list) else list(ALL_EVENT_TYPES),
        "send_name": bool(body.get("send_name")),
        "send_photo": bool(body.get("send_photo")),
    }


def _telegram_registration(body: Mapping[str, Any]) -> dict[str, Any]:
    allowed = body.get("allowed_updates")
    return {
        "url": _url(body.get("url"), "url"),
        "secret_token": str(body.get("secret_token") or ""),
        "allowed_updates": allowed if isinstance(allowed, list) else [],
        "max_connections": int(body.get("max_connections") or 40),
    }


_REGISTRATIONS: dict[str, tuple[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "whatsapp": (WHATSAPP_REGISTRATION, _whatsapp_registration),
    "gbm": (GBM_REGISTRATION, _gbm_registration),
    "viber": (VIBER_REGISTRATION, _viber_registration),
    "telegram": (TELEGRAM_REGISTRATION, _telegram_registration),
}


class ControlApi:
    def __init__(self, state: SandboxState, providers: Mapping[str, Provider], config: SandboxConfig) -> None:
        self.state = state
        self.providers = providers
        self.config = config

    def handle(self, request: Request, segments: list[str]) -> Response:
        try:
            return self._route(request, [s for s in segments if s])
        except ControlError as exc:
            return json_response(exc.status, {"error": exc.message})

    def _route(self, request: Request, segments: list[str]) -> Response:
        method = request.method
        head = segments[0] if segments else "health"
        rest = segments[1:]
        if head == "health" and method == "GET":
            return json_response(200, {"ok": self.state.ping(), "prefix": self.state.prefix})
        if head == "reset" and method == "POST" and not rest:
            self.state.reset()
            return json_response(200, {"reset": True})
        if head == "requests" and not rest:
            return self._requests(request)
        if head == "stats" and method == "GET" and not rest:
            return json_response(200, self.state.stats())
        if head == "callbacks" and not rest:
            return self._callbacks(request)
        if head == "behaviours":
            return self._behaviours(request, rest)
        if head == "settings" and not rest:
            return self._settings(request)
        if head == "inbound" and method == "POST" and not rest:
            return self._inbound(request)
        if head in _REGISTRATIONS:
            return self._registration(request, head, rest)
        raise ControlError(404, f"no control endpoint {method} /_sandbox/{'/'.join(segments)}")

    def _requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.clear_requests()
            return json_response(200, {"cleared": True})
        if request.method != "GET":
            raise ControlError(405, "use GET or DELETE")
        records = self.state.recorded_requests(
            channel=CHANNEL_ALIASES.get(request.query.get("channel", ""), request.query.get("channel") or None),
            destination=request.query.get("destination") or None,
            limit=_limit(request),
        )
        return json_response(200, {"requests": records, "count": len(records)})

    def _callbacks(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.clear_callbacks()
            return json_response(200, {"cleared": True})
        if request.method != "GET":
            raise ControlError(405, "use GET or DELETE")
        channel = request.query.get("channel") or None
        records = self.state.callbacks(channel=CHANNEL_ALIASES.get(channel or "", channel), limit=_limit(request))
        return json_response(200, {"callbacks": records, "count": len(records),
                                   "pending": self.state.pending_callbacks()})

    def _behaviours(self, request: Request, rest: list[str]) -> Response:
        if not rest:
            if request.method == "GET":
                return json_response(200, {"behaviours": self.state.behaviours()})
            if request.method == "DELETE":
                self.state.clear_behaviours()
                return json_response(200, {"cleared": True})
            raise ControlError(405, "use GET or DELETE")
        # Rejoined: a Viber user id is base64 and may hold a "/".
        destination = normalise_destination("/".join(rest))
        if request.method == "PUT":
            try:
                behaviour = normalise(_object(request), max_hang=self.config.max_hang)
            except InvalidBehaviour as exc:
                raise ControlError(400, str(exc)) from exc
            self.state.set_behaviour(destination, behaviour)
            return json_response(200, {"destination": destination, "behaviour": behaviour})
        if request.method == "GET":
            found = self.state.get_behaviour(destination)
            if found is None:
                raise ControlError(404, f"no behaviour for {destination}")
            return json_response(200, {"destination": destination, "behaviour": found})
        if request.method == "DELETE":
            return json_response(200, {"deleted": self.state.delete_behaviour(destination)})
        raise ControlError(405, "use PUT, GET or DELETE")

    def _settings(self, request: Request) -> Response:
        if request.method == "PUT":
            body = _object(request)
            updates: dict[str, str | None] = {}
            if "templateStatus" in body:
                status = body["templateStatus"]
                if status is not None and str(status).upper() not in TEMPLATE_STATUSES:
                    raise ControlError(400, f"templateStatus must be one of {', '.join(TEMPLATE_STATUSES)}")
                updates["templateStatus"] = None if status is None else str(status).upper()
            if "reportDelaySeconds" in body:
                delay = body["reportDelaySeconds"]
                if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0):
                    raise ControlError(400, "reportDelaySeconds must be a non-negative number")
                updates["reportDelaySeconds"] = None if delay is None else str(float(delay))
            unknown = sorted(set(body) - {"templateStatus", "reportDelaySeconds"})
            if unknown:
                raise ControlError(400, f"unknown settings: {', '.join(unknown)}")
            self.state.update_settings(updates)
        elif request.method != "GET":
            raise ControlError(405, "use GET or PUT")
        return json_response(200, {"settings": self.state.settings()})

    def _registration(self, request: Request, head: str, rest: list[str]) -> Response:
        kind, build = _REGISTRATIONS[head]
        if head == "gbm":
            if rest:
                raise ControlError(404, "expected /_sandbox/gbm")
            account = GBM_ACCOUNT
        elif rest:
            account = "/".join(rest)
        else:
            raise ControlError(404, f"expected /_sandbox/{head}/{{account}}")
        if request.method == "PUT":
            registration = build(_object(request))
            self.state.set_registration(kind, account, registration)
            return json_response(200, {"registration": registration})
        if request.method == "GET":
            found = self.state.get_registration(kind, account)
            if found is None:
                raise ControlError(404, f"nothing registered for {head} {account}")
            return json_response(200, {"registration": found})
        if request.method == "DELETE":
            return json_response(200, {"deleted": self.state.delete_registration(kind, account)})
        raise ControlError(405, "use PUT, GET or DELETE")

    def _inbound(self, request: Request) -> Response:
        spec = _object(request)
        raw_channel = str(spec.get("channel") or "")
        channel = CHANNEL_ALIASES.get(raw_channel, raw_channel)
        provider = self.providers.get(channel)
        if provider is None:
            raise ControlError(400, f"channel must be one of {', '.join(sorted(self.providers))}")
        account = str(spec.get("account") or "")
        if not account and channel != "gbm":
            raise ControlError(400, "account is required")
        key = provider.registration_key({"account": account})
        registration = self.state.registrations_by_key([key]).get(key) if key else None
        try:
            events = provider.inbound_events(spec, registration)
        except InboundError as exc:
            raise ControlError(exc.status, str(exc)) from exc
        delay = spec.get("delaySeconds") or 0
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ControlError(400, "delaySeconds must be a non-negative number")
        entry = {
            "id": uuid.uuid4().hex,
            "kind": "inbound",
            "channel": channel,
            "account": account,
            "destination": str(spec.get("from") or ""),
            "extra": provider.inbound_extra(spec),
            "attempt": 0,
            "events": events,
        }
        self.state.schedule(entry, time.time() + float(delay))
        return json_response(202, {"id": entry["id"], "channel": channel, "events": events})
