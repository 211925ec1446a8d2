"""The one interface every provider adapter implements.

Adapters are deliberately free of the ORM: they take plain dataclasses and return plain
dataclasses, so a provider's wire contract can be tested table-driven against recorded HTTP
without a database, and the dispatch service stays the only place that writes state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

import requests

if TYPE_CHECKING:
    from channels_app.providers.answers import AnswerError


@dataclass(frozen=True)
class ProviderAccount:
    """What an adapter needs to know of a traffic account."""

    id: UUID
    channel: str
    base_url: str
    credentials: Mapping[str, str]
    sender: str = ""
    display_name: str = ""
    test_mode: bool = False
    viber_kind: str = "bot"  # Viber only: "bot" (Bot API) or "business" (Business Messages)


@dataclass(frozen=True)
class OutboundMessage:
    """A message ready to go out. ``content`` is the validated channel object in the Chat API's
    camelCase shape (for example the value of ``"telegram"`` in a send request)."""

    id: UUID
    destination: str
    content: Mapping[str, Any]
    callback_url: str | None = None


@dataclass
class HttpExchange:
    """One request/response with a provider, secrets already redacted, for the attempt log."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: Any = None
    status_code: int | None = None
    response_body: Any = None
    duration_ms: float = 0.0
    error: str = ""


@dataclass
class SendResult:
    provider_message_id: str
    exchange: HttpExchange | None = None
    # Channels without delivery receipts (Telegram) finish at the provider's acceptance.
    final: bool = False


class SendError(Exception):
    """Base of every send failure. ``retryable`` decides between a retry and Failed."""

    retryable: ClassVar[bool] = False
    kind: ClassVar[str] = "error"

    def __init__(
        self,
        code: str,
        text: str,
        *,
        exchange: HttpExchange | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {text}")
        self.code = str(code)
        self.text = text
        self.exchange = exchange
        self.retry_after = retry_after


class ProviderThrottled(SendError):
    """429 or a provider throttling code: retry after ``retry_after`` or a backoff."""

    retryable = True
    kind = "throttled"


class ProviderUnavailable(SendError):
    """Timeouts, connection errors, 5xx: retry with backoff."""

    retryable = True
    kind = "unavailable"


class ProviderAmbiguous(ProviderUnavailable):
    """The request may have reached the provider, but no answer came (a read timeout): the
    message may be on its way. Retried only after ``AMBIGUOUS_RETRY_DELAY_SECONDS``, and only if
    no report arrived meanwhile, unless the adapter's provider deduplicates on our id."""

    kind = "ambiguous"


class ProviderRejected(SendError):
    """A permanent refusal of this message (bad recipient, bad parameters): fail at once."""

    kind = "rejected"


class ProviderConfigError(SendError):
    """Bad credentials or missing permission: fail at once and surface to operators."""

    kind = "config"


@dataclass(frozen=True)
class CallbackRequest:
    """A provider callback as received: raw bytes first, so signatures are checked on them."""

    method: str
    body: bytes
    headers: Mapping[str, str]  # keys lower-cased
    query: Mapping[str, str]

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class CallbackRejected(Exception):
    """The callback failed its authenticity check; nothing may be written."""

    def __init__(self, reason: str, status_code: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


@dataclass(frozen=True)
class StatusEvent:
    """A provider's report on a message we sent, in the gateway's vocabulary
    (``Sent``, ``Delivered``, ``Read``, ``Failed``)."""

    status: str
    provider_message_id: str = ""
    message_id: UUID | None = None  # when the provider echoes our own id
    occurred_at: datetime | None = None
    error_code: str = ""
    error_text: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)
    # What the provider says the message cost and where it went (Mitto's ``~rate~`` and
    # ``~mcc~~mnc~``), as ``{"price": "6.00", "network": "26201"}``; empty when not reported.
    billing: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundEvent:
    """A message a user sent to the agent. ``content`` is normalised:
    ``{"type": "text"|"image"|"video"|"audio"|"document"|"location"|"reply"|..., ...}``."""

    provider_event_id: str
    sender: str
    content: Mapping[str, Any]
    sender_name: str = ""
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UserStateEvent:
    """A user became reachable (subscribed) or unreachable (unsubscribed, blocked the bot)."""

    user: str
    reachable: bool
    reason: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


CallbackEvent = StatusEvent | InboundEvent | UserStateEvent


@dataclass(frozen=True)
class ProviderRequest:
    """One HTTP call to a provider as an adapter builds it; the base class makes the call."""

    method: str
    url: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None
    # Values masked wherever they appear in the recorded exchange (keys, tokens, a token in the URL).
    secrets: tuple[str, ...] = ()


class ChannelAdapter(ABC):
    """Translate gateway messages to one provider's HTTP contract and its callbacks back.

    ``send`` is fixed here so every provider takes the same steps in the same order: build the
    request (``build_request``), call it through the pooled session with the redacted exchange
    record (``call``), classify the answer (``classify_answer``: the shared HTTP status mapping
    plus the provider's body codes from ``answer_error``), then read the success
    (``parse_answer``). Subclasses set ``channel`` and implement the hooks; they never touch the
    database. A request that depends on earlier calls (GBM's access token, the size of a file
    Viber must be told) makes them in ``build_request``, which may raise a ``SendError`` before
    anything is sent.
    """

    channel: ClassVar[str]
    # Whether the provider refuses a second message with the same id of ours (GBM's messageId),
    # so that a retry after an ambiguous timeout can never deliver twice.
    dedupes_on_our_id: ClassVar[bool] = False
    # How error texts name the provider when its answer gives none ("HTTP 503 from Viber").
    provider_name: ClassVar[str] = "the provider"
    # Texts for errors the answer explains nowhere, by error class (before the "HTTP ..." text).
    default_error_texts: ClassVar[Mapping[type[SendError], str]] = {}
    # The HTTP statuses that mean bad credentials or permissions (not a refused message).
    config_statuses: ClassVar[frozenset[int]] = frozenset({401, 403})
    # Whether ``send_many`` takes several messages in one provider call (Mitto's ``/smsbulk``):
    # dispatch groups messages for an adapter only then.
    sends_in_bulk: ClassVar[bool] = False
    # Header names whose values are masked in the recorded exchange beyond ``Authorization``
    # (a provider's own auth header, such as Mitto's X-Mitto-API-Key).
    sensitive_headers: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, account: ProviderAccount, session: requests.Session | None = None) -> None:
        from channels_app.providers.http import pooled_session

        self.account = account
        self.session = session or pooled_session()

    @property
    def base_url(self) -> str:
        return self.account.base_url.rstrip("/")

    # ---- webhook registration, for providers that take it by API --------------------------
    # ``channels_app.callbacks.registration`` calls these for channels whose spec has no
    # ``webhook_setup`` text; the others never reach them.

    def register_webhook(self, *, url: str, secret: str) -> dict[str, Any]:
        """Point the provider at ``url``; ``secret`` is the account's ``webhook_secret_key``
        credential when the spec names one (empty otherwise). Returns the provider's answer."""
        raise NotImplementedError(f"{type(self).__name__} does not register webhooks")

    def registered_webhook(self) -> dict[str, Any]:
        """What the provider has registered for this account."""
        raise NotImplementedError(f"{type(self).__name__} does not register webhooks")

    def unregister_webhook(self) -> dict[str, Any]:
        """Stop the provider from calling us."""
        raise NotImplementedError(f"{type(self).__name__} does not register webhooks")

    # ---- the send template ---------------------------------------------------------------

    def send(self, message: OutboundMessage) -> SendResult:
        """Send one message or raise a ``SendError`` subclass."""
        request = self.build_request(message)
        response, exchange = self.call(request)
        error = self.classify_answer(response, exchange)
        if error is not None:
            raise error
        return self.parse_answer(message, response, exchange)

    def send_many(
        self, messages: Sequence[OutboundMessage], *, callback_url: str | None = None
    ) -> list[SendResult | SendError]:
        """One result or error per message, in order, never raised. ``callback_url`` is the one
        report URL of a provider call that carries several messages; this default sends one by
        one, each message with its own ``callback_url``, so adapters without a bulk call need
        nothing."""
        results: list[SendResult | SendError] = []
        for message in messages:
            try:
                results.append(self.send(message))
            except SendError as error:
                results.append(error)
        return results

    def perform(self, request: ProviderRequest) -> tuple[requests.Response, HttpExchange]:
        """Call and classify, for a provider's other calls (webhooks, templates): the answer of a
        success, else its ``SendError`` raised."""
        response, exchange = self.call(request)
        error = self.classify_answer(response, exchange)
        if error is not None:
            raise error
        return response, exchange

    def call(self, request: ProviderRequest) -> tuple[requests.Response, HttpExchange]:
        """The call itself: timed, redacted and recorded; network failures already classified."""
        from channels_app.providers.http import call_provider

        return call_provider(
            self.session,
            request.method,
            request.url,
            secrets=request.secrets,
            sensitive_headers=self.sensitive_headers,
            headers=request.headers,
            json_body=request.json,
            params=request.params,
        )

    def classify_answer(self, response: requests.Response, exchange: HttpExchange) -> SendError | None:
        """The error the answer amounts to, or ``None`` for a success."""
        from channels_app.providers.answers import classify_http_answer, json_object

        return classify_http_answer(
            response.status_code,
            response.headers,
            reported=self.answer_error(response, json_object(response)),
            exchange=exchange,
            config_statuses=self.config_statuses,
            default_texts=self.default_error_texts,
            provider_name=self.provider_name,
        )

    # ---- hooks ---------------------------------------------------------------------------

    @abstractmethod
    def build_request(self, message: OutboundMessage) -> ProviderRequest:
        """The provider call that sends ``message``; ``ProviderRejected`` for content it cannot carry."""

    def answer_error(self, response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
        """What the answer's body says went wrong (``payload`` is its JSON object, if any), or
        ``None`` when it reports nothing; the HTTP status still counts either way."""
        return None

    @abstractmethod
    def parse_answer(
        self, message: OutboundMessage, response: requests.Response, exchange: HttpExchange
    ) -> SendResult:
        """The result of an answer ``classify_answer`` found successful; ``ProviderUnavailable``
        (``bad_response``) when it names no message, since it may or may not have been taken."""

    @abstractmethod
    def verify_callback(self, request: CallbackRequest) -> None:
        """Raise ``CallbackRejected`` unless the callback is authentic."""

    @abstractmethod
    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        """Turn a verified callback into normalised events (possibly none)."""
