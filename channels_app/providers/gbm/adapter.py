"""Google Business Messages: sending with service-account OAuth, receipts and user messages.

Google shut GBM down on 31 July 2024; the Chat API still specifies it, so this adapter follows
Google's documented contract (README.md in this package) and is exercised against the sandbox.

* ``messageId`` is our message id. Google treats it as an idempotency key, so a retry after a
  timeout cannot duplicate the message, and receipts name it, so they find the message directly.
* Access tokens come from the service account through google-auth and are cached per process
  until shortly before they expire (``oauth.py``): one token call an hour instead of one per message.
* Callback verification and parsing live in ``callbacks.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from channels_app.providers.answers import AnswerError, json_object
from channels_app.providers.base import (
    CallbackEvent,
    CallbackRequest,
    ChannelAdapter,
    HttpExchange,
    OutboundMessage,
    ProviderConfigError,
    ProviderRejected,
    ProviderRequest,
    SendError,
    SendResult,
)
from channels_app.providers.gbm.callbacks import last_segment, parse_events, verification_secret, verify_signature
from channels_app.providers.gbm.oauth import SCOPE, ServiceAccount, fetch_access_token, token_cache
from gateway.channels import Channel

# Re-exported: the callback view and the tests import them from the adapter.
__all__ = ["SCOPE", "GbmAdapter", "verification_secret"]


def _compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, "")}


def _representative(given: Any, display_name: str) -> dict[str, Any]:
    rep = given if isinstance(given, Mapping) else {}
    return _compact({
        "representativeType": rep.get("representativeType") or "BOT",
        "displayName": rep.get("displayName") or display_name,
        "avatarImage": rep.get("avatarImage"),
    })


def _content_fields(content: Mapping[str, Any]) -> dict[str, Any]:
    """The one kind of content the message carries, in the API's shape."""
    text = content.get("text")
    if isinstance(text, Mapping):
        fields: dict[str, Any] = {"text": str(text.get("message", ""))}
        if text.get("containsRichText"):
            fields["containsRichText"] = True
        return fields
    image = content.get("image")
    if isinstance(image, Mapping):
        info = _compact({k: image.get(k) for k in ("fileUrl", "thumbnailUrl", "forceRefresh", "altText")})
        return {"image": {"contentInfo": info}}
    card = content.get("standaloneCard")
    if isinstance(card, Mapping):
        # The Chat API writes the card's content directly; accept the API's own nesting too.
        card_content = card["cardContent"] if isinstance(card.get("cardContent"), Mapping) else card
        return {"richCard": {"standaloneCard": {"cardContent": dict(card_content)}}}
    carousel = content.get("carouselCard")
    if isinstance(carousel, Mapping):
        return {"richCard": {"carouselCard": dict(carousel)}}
    raise ProviderRejected(
        "invalid_content", "GBM content needs text, image, standaloneCard or carouselCard"
    )


def _message_body(message: OutboundMessage, display_name: str) -> dict[str, Any]:
    content = message.content
    body: dict[str, Any] = {
        "messageId": str(message.id),
        "representative": _representative(content.get("representative"), display_name),
        **_content_fields(content),
    }
    if content.get("suggestions"):
        body["suggestions"] = list(content["suggestions"])
    if content.get("fallback"):
        body["fallback"] = str(content["fallback"])
    return body


def _already_sent(response: requests.Response, payload: Mapping[str, Any] | None) -> bool:
    """Our messageId is already there: an earlier attempt got through before timing out."""
    error = (payload or {}).get("error")
    return response.status_code == 409 and isinstance(error, Mapping) and error.get("status") == "ALREADY_EXISTS"


class GbmAdapter(ChannelAdapter):
    channel = Channel.GBM
    dedupes_on_our_id = True  # messageId is our id; a repeat answers "already exists"
    provider_name = "Business Messages"

    # ---- sending -------------------------------------------------------------------------

    def _service_account(self) -> ServiceAccount | None:
        """The service account tokens are minted for; ``None`` when a static token is configured."""
        credentials = self.account.credentials
        if credentials.get("access_token"):
            return None
        if not credentials.get("service_account_json"):
            raise ProviderConfigError(
                "no_credentials", "neither access_token nor service_account_json is set"
            )
        return ServiceAccount.from_credential(credentials["service_account_json"])

    def _access_token(self) -> str:
        """A configured ``access_token`` as is, else the service account's cached or fetched one."""
        service_account = self._service_account()
        if service_account is None:
            return self.account.credentials["access_token"]
        return token_cache.get(service_account.cache_key, lambda: fetch_access_token(self.session, service_account))

    def build_request(self, message: OutboundMessage) -> ProviderRequest:
        body = _message_body(message, self.account.display_name or self.account.sender)
        token = self._access_token()  # the token call, when one is due, goes before the send
        url = f"{self.base_url}/v1/conversations/{quote(message.destination, safe='')}/messages"
        if message.content.get("forceFallback"):
            url += "?forceFallback=true"
        return ProviderRequest(
            "POST",
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            secrets=(token,),
        )

    def classify_answer(self, response: requests.Response, exchange: HttpExchange) -> SendError | None:
        """ALREADY_EXISTS is a success (see ``_already_sent``); a 401 drops the cached token, so
        the next send fetches a new one instead of failing until the token would have expired."""
        if _already_sent(response, json_object(response)):
            return None
        error = super().classify_answer(response, exchange)
        if response.status_code == 401:
            service_account = self._service_account()
            if service_account is not None:
                token_cache.discard(service_account.cache_key)
        return error

    def answer_error(self, response: requests.Response, payload: dict[str, Any] | None) -> AnswerError | None:
        """Google's ``error.status`` and ``error.message`` on anything but a 200."""
        if response.status_code == 200:
            return None
        error = (payload or {}).get("error")
        error = error if isinstance(error, Mapping) else {}
        return AnswerError(str(error.get("status") or ""), str(error.get("message") or ""))

    def parse_answer(
        self, message: OutboundMessage, response: requests.Response, exchange: HttpExchange
    ) -> SendResult:
        name = (json_object(response) or {}).get("name") if response.status_code == 200 else None
        return SendResult(provider_message_id=last_segment(name) or str(message.id), exchange=exchange)

    # ---- callbacks -----------------------------------------------------------------------

    def verify_callback(self, request: CallbackRequest) -> None:
        verify_signature(self.account.credentials.get("client_token", ""), request)

    def parse_callback(self, request: CallbackRequest) -> list[CallbackEvent]:
        """Receipts, user messages and suggestion taps; typing, surveys and the webhook
        verification request produce no event."""
        return parse_events(request.body)
