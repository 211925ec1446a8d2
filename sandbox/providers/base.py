"""What every simulated provider shares: recording, the behaviour-driven send flow, callbacks.

A provider module only describes its wire contract (paths, validation, success and error
shapes, report and inbound payloads, signatures); the order of steps lives here, so every
provider records, applies behaviours and schedules reports the same way.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sandbox.behaviours import FAIL, THROTTLE, TIMEOUT, Behaviour
from sandbox.clock import iso_millis
from sandbox.config import SandboxConfig
from sandbox.state import SandboxState, SendDecision, SendTicket
from sandbox.web import BadRequest, Request, Response, json_response

CallbackEvent = dict[str, Any]  # {"event": name, "body": provider-format JSON object}


class InboundError(ValueError):
    """An inbound injection the sandbox cannot turn into this provider's format."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CallbackTarget:
    url: str
    # Headers for a given raw body: the provider's signature is computed on the exact bytes sent.
    sign: Callable[[bytes], dict[str, str]]


def _no_signature(_body: bytes) -> dict[str, str]:
    return {}


def unsigned(url: str) -> CallbackTarget:
    return CallbackTarget(url=url, sign=_no_signature)


class Provider(ABC):
    channel: ClassVar[str]
    # The registration that says where this provider's callbacks go (None: given per message).
    registration_kind: ClassVar[str | None] = None
    has_receipts: ClassVar[bool] = True

    def __init__(self, state: SandboxState, config: SandboxConfig) -> None:
        self.state = state
        self.config = config

    @abstractmethod
    def handle(self, request: Request, segments: list[str]) -> Response:
        """Answer one request whose path was routed to this provider."""

    # ---- recording -----------------------------------------------------------------------

    def record_of(self, request: Request, destination: str = "") -> dict[str, Any]:
        try:
            body: Any = request.params() if request.body else None
        except BadRequest:
            body = request.body[:4000].decode("utf-8", "replace")
        return {
            "channel": self.channel,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers(),
            "body": body,
            "receivedAt": iso_millis(),
            "destination": destination,
        }

    def finish(self, request: Request, response: Response, outcome: str, destination: str = "") -> Response:
        """Record a request outside the behaviour flow (auth failures, validation, webhooks)."""
        self.state.record(self.channel, dict(self.record_of(request, destination), status=response.status), outcome)
        return response

    # ---- the send flow -------------------------------------------------------------------

    def callback_entry(
        self, *, account: str, provider_id: str, destination: str, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4().hex,
            "kind": "report",
            "channel": self.channel,
            "account": account,
            "providerId": provider_id,
            "destination": destination,
            "extra": dict(extra or {}),
            "attempt": 0,
            "sentAt": time.time(),
        }

    def ticket(
        self,
        request: Request,
        *,
        destination: str,
        provider_id: str,
        account: str = "",
        extra: Mapping[str, Any] | None = None,
        report: bool = True,
    ) -> SendTicket:
        entry = None
        if self.has_receipts and report:
            entry = self.callback_entry(
                account=account, provider_id=provider_id, destination=destination, extra=extra
            )
        return SendTicket(
            channel=self.channel,
            destination=destination,
            record=self.record_of(request, destination),
            provider_id=provider_id,
            callback_entry=entry,
        )

    def send(
        self,
        request: Request,
        *,
        destination: str,
        provider_id: str,
        success: Callable[[], Response],
        account: str = "",
        extra: Mapping[str, Any] | None = None,
        report: bool = True,
    ) -> Response:
        """Apply the destination's behaviour to an accepted-looking send and answer accordingly."""
        ticket = self.ticket(
            request, destination=destination, provider_id=provider_id, account=account, extra=extra, report=report
        )
        return self.answer(self.state.decide_send(ticket), success)

    def answer(self, decision: SendDecision, success: Callable[[], Response]) -> Response:
        behaviour = decision.behaviour
        if decision.outcome == FAIL:
            return self.fail_response(behaviour)
        if decision.outcome == THROTTLE:
            return self.throttle_response(behaviour)
        if decision.outcome == TIMEOUT:
            hang = behaviour.timeout_seconds if behaviour.timeout_seconds is not None else self.config.default_hang
            time.sleep(min(hang, self.config.max_hang))
            return self.timeout_response(behaviour)
        return success()

    @abstractmethod
    def fail_response(self, behaviour: Behaviour) -> Response:
        """The provider's refusal of this message, with the behaviour's code and text."""

    @abstractmethod
    def throttle_response(self, behaviour: Behaviour) -> Response:
        """The provider's rate-limit answer."""

    def timeout_response(self, behaviour: Behaviour) -> Response:
        """Sent after hanging; the client has normally given up by then."""
        return json_response(504, {"error": "sandbox: simulated timeout"})

    # ---- callbacks -----------------------------------------------------------------------

    def registration_key(self, entry: Mapping[str, Any]) -> str | None:
        if self.registration_kind is None:
            return None
        return self.state.registration_key(self.registration_kind, str(entry.get("account", "")))

    def report_events(self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        """The provider-format bodies for a scheduled delivery report, in sending order."""
        return []

    @abstractmethod
    def callback_target(
        self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None
    ) -> CallbackTarget | None:
        """Where this entry's callbacks go and how they are signed; None when nowhere."""

    @abstractmethod
    def inbound_events(self, spec: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        """A user's message (or state change) as this provider would post it to the webhook."""

    def inbound_extra(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Anything the callback target needs besides the registration (Mitto: the URL)."""
        return {}


def report_behaviour(entry: Mapping[str, Any]) -> Behaviour:
    return Behaviour.from_mapping(entry.get("behaviour"))
