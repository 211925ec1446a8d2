"""Google Business Messages: conversation messages, the OAuth2 JWT-bearer token endpoint, receipts.

Receipts and user messages go to the agent webhook registered with ``PUT /_sandbox/gbm`` and are
signed with its client token. The token endpoint cannot verify the service account's signature
(it has no public key), so it checks the assertion's shape and claims instead.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from sandbox.behaviours import READ, Behaviour
from sandbox.clock import rfc3339_nanos
from sandbox.providers.base import CallbackEvent, CallbackTarget, InboundError, Provider
from sandbox.signing import GBM_SIGNATURE_HEADER, gbm_signature
from sandbox.web import BadRequest, Request, Response, json_response

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_TOKEN = "invalid"  # noqa: S105 - the sandbox's agreed "bad token" value
REGISTRATION = "gbm"
REGISTRATION_ACCOUNT = "agent"
DEFAULT_AGENT = "brands/sandbox-brand/agents/sandbox-agent"
DEFAULT_FAIL_STATUS = 400
MAX_TEXT = 3072
MAX_SUGGESTIONS = 13

_STATUS_NAMES = {
    400: "FAILED_PRECONDITION",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def google_error(
    code: int, message: str, status: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"error": {"code": code, "message": message, "status": status or _STATUS_NAMES.get(code, "UNKNOWN")}}
    return json_response(code, body, headers)


def _invalid(message: str) -> Response:
    return google_error(400, message, "INVALID_ARGUMENT")


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode()))


def _assertion_problem(assertion: str) -> str | None:
    """Why Google would refuse this JWT assertion, short of checking its signature."""
    parts = assertion.split(".")
    if len(parts) != 3 or not all(parts):
        return "Invalid JWT: not a compact JWS (header.payload.signature)."
    try:
        header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
    except ValueError:
        return "Invalid JWT: header or payload is not base64url JSON."
    if not isinstance(header, dict) or not header.get("alg"):
        return "Invalid JWT: the header has no alg."
    if not isinstance(claims, dict):
        return "Invalid JWT: the payload is not a JSON object."
    for claim in ("iss", "scope", "aud", "exp"):
        if not claims.get(claim):
            return f"Invalid JWT: the {claim} claim is required."
    try:
        expires = float(claims["exp"])
        issued = float(claims.get("iat", expires - 3600))
    except (TypeError, ValueError):
        return "Invalid JWT: exp and iat must be numbers."
    now = time.time()
    if expires < now - 60 or expires - issued > 3600 + 60:
        return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
    return None


def _validate_message(body: Mapping[str, Any], force_fallback: bool) -> Response | None:
    if not body.get("messageId"):
        return _invalid("Invalid value at 'message.message_id': the message id is required.")
    representative = body.get("representative")
    if not isinstance(representative, Mapping) or representative.get("representativeType") not in ("BOT", "HUMAN"):
        return _invalid("Invalid value at 'message.representative.representative_type'.")
    contents = [k for k in ("text", "image", "richCard") if body.get(k)]
    if len(contents) != 1:
        return _invalid("The message must contain exactly one of text, image or richCard.")
    if len(str(body.get("text") or "")) > MAX_TEXT or len(str(body.get("fallback") or "")) > MAX_TEXT:
        return _invalid(f"Text and fallback must be at most {MAX_TEXT} characters.")
    suggestions = body.get("suggestions") or []
    if not isinstance(suggestions, list) or len(suggestions) > MAX_SUGGESTIONS:
        return _invalid(f"A message carries at most {MAX_SUGGESTIONS} suggestions.")
    rich = bool(body.get("richCard") or body.get("image") or suggestions)
    if force_fallback and rich and not body.get("fallback"):
        return google_error(
            400, "The device cannot render this message and it has no fallback text.", "FAILED_PRECONDITION"
        )
    return None


class GbmProvider(Provider):
    channel = "gbm"
    registration_kind = REGISTRATION

    def handle(self, request: Request, segments: list[str]) -> Response:
        if segments == ["token"]:
            return self._token(request)
        if (
            len(segments) != 4 or segments[0] != "v1" or segments[1] != "conversations"
            or segments[3] != "messages" or not segments[2]
        ):
            return self.finish(request, google_error(404, "Requested entity was not found."), "not_found")
        if request.method != "POST":
            return self.finish(request, google_error(405, "Method not allowed.", "UNIMPLEMENTED"), "invalid")
        token = request.header("Authorization").removeprefix("Bearer").strip()
        if not token or token == INVALID_TOKEN:
            response = google_error(
                401, "Request had invalid authentication credentials. Expected OAuth 2 access token."
            )
            return self.finish(request, response, "unauthorized", segments[2])
        conversation_id = segments[2]
        try:
            body = request.json()
        except BadRequest as exc:
            return self.finish(request, _invalid(str(exc)), "invalid", conversation_id)
        if not isinstance(body, dict):
            return self.finish(request, _invalid("The body must be a message object."), "invalid", conversation_id)
        force_fallback = request.query.get("forceFallback", "").lower() == "true"
        problem = _validate_message(body, force_fallback)
        if problem is not None:
            return self.finish(request, problem, "invalid", conversation_id)
        name = f"conversations/{conversation_id}/messages/{body['messageId']}"

        def success() -> Response:
            return json_response(200, dict(body, name=name))

        return self.send(request, destination=conversation_id, provider_id=name, success=success,
                         account=REGISTRATION_ACCOUNT)

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return self.finish(request, json_response(405, {"error": "invalid_request"}), "invalid")
        try:
            params = request.params()
        except BadRequest:
            params = {}
        if params.get("grant_type") != JWT_BEARER:
            response = json_response(400, {
                "error": "unsupported_grant_type",
                "error_description": f"Invalid grant_type: {params.get('grant_type', '')}",
            })
            return self.finish(request, response, "invalid")
        assertion = str(params.get("assertion") or "")
        problem = "Missing required parameter: assertion" if not assertion else _assertion_problem(assertion)
        if problem:
            return self.finish(request, json_response(400, {"error": "invalid_grant", "error_description": problem}),
                               "invalid")
        token = {
            "access_token": "ya29.sandbox." + secrets.token_urlsafe(32), "expires_in": 3600, "token_type": "Bearer",
        }
        return self.finish(request, json_response(200, token), "success")

    def fail_response(self, behaviour: Behaviour) -> Response:
        code = behaviour.int_code_or(DEFAULT_FAIL_STATUS)
        message = behaviour.error_text or "The device cannot render the message."
        return google_error(code if 400 <= code <= 599 else DEFAULT_FAIL_STATUS, message)

    def throttle_response(self, behaviour: Behaviour) -> Response:
        return google_error(
            429, behaviour.error_text or "Quota exceeded for quota metric 'Requests'.", "RESOURCE_EXHAUSTED",
            headers={"Retry-After": str(behaviour.retry_after_seconds())},
        )

    # ---- callbacks -----------------------------------------------------------------------

    def _envelope(self, registration: Mapping[str, Any] | None, conversation_id: str, **content: Any) -> dict:
        agent = str((registration or {}).get("agent") or DEFAULT_AGENT)
        return {
            "agent": agent,
            "conversationId": conversation_id,
            "customAgentId": "",
            "requestId": str(uuid.uuid4()),
            **content,
            "sendTime": rfc3339_nanos(),
        }

    def report_events(self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        # GBM has no failure receipt: a message it cannot deliver is refused when sent.
        report = entry.get("report")
        kinds = ["DELIVERED", "READ"] if report == READ else ["DELIVERED"] if report != "failed" else []
        return [
            {
                "event": kind.lower(),
                "body": self._envelope(
                    registration, str(entry["destination"]),
                    receipts={"receipts": [{"message": entry["providerId"], "receiptType": kind}],
                              "createTime": rfc3339_nanos()},
                ),
            }
            for kind in kinds
        ]

    def registration_key(self, entry: Mapping[str, Any]) -> str | None:
        return self.state.registration_key(REGISTRATION, REGISTRATION_ACCOUNT)

    def callback_target(
        self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None
    ) -> CallbackTarget | None:
        if not registration or not registration.get("webhookUrl"):
            return None
        client_token = str(registration.get("clientToken") or "")
        return CallbackTarget(
            url=str(registration["webhookUrl"]),
            sign=lambda body: {GBM_SIGNATURE_HEADER: gbm_signature(client_token, body)},
        )

    def inbound_events(self, spec: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        if not registration:
            raise InboundError("no GBM webhook registered (PUT /_sandbox/gbm)", 409)
        conversation_id = str(spec.get("from") or "")
        if not conversation_id:
            raise InboundError("from (the conversation id) is required")
        kind = str(spec.get("type") or "text")
        text = str(spec.get("text") or "")
        message_id = str(uuid.uuid4())
        name = f"conversations/{conversation_id}/messages/{message_id}"
        context = {
            "entryPoint": "PLACESHEET",
            "userInfo": {"displayName": str(spec.get("name") or "Sandbox User"), "userDeviceLocale": "en"},
            "resolvedLocale": "en",
        }
        if kind == "text":
            if not text:
                raise InboundError("text is required")
            content: dict[str, Any] = {"message": {"messageId": message_id, "name": name, "text": text,
                                                   "createTime": rfc3339_nanos()}}
        elif kind == "image":
            url = str(spec.get("mediaUrl") or "https://example.com/image.jpg")
            content = {"message": {"messageId": message_id, "name": name, "createTime": rfc3339_nanos(),
                                   "image": {"contentInfo": {"fileUrl": url}}}}
        elif kind == "suggestion":
            content = {"suggestionResponse": {
                "message": name, "postbackData": str(spec.get("payload") or ""), "createTime": rfc3339_nanos(),
                "text": text, "suggestionType": "REPLY",
            }}
        else:
            raise InboundError(f"unsupported GBM inbound type {kind!r}")
        return [{"event": "message", "body": self._envelope(registration, conversation_id, context=context, **content)}]
