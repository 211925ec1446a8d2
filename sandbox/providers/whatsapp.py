"""WhatsApp Business Cloud API (Graph): messages, message templates, status and inbound webhooks.

Webhooks go to the URL registered for the sending phone number id (``PUT /_sandbox/whatsapp/{id}``,
standing in for the app's webhook subscription) and are signed with its app secret.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from typing import Any, cast

from sandbox import ids
from sandbox.behaviours import FAILED, READ, Behaviour
from sandbox.clock import epoch_seconds
from sandbox.providers.base import (
    CallbackEvent,
    CallbackTarget,
    InboundError,
    Provider,
    report_behaviour,
)
from sandbox.signing import WHATSAPP_SIGNATURE_HEADER, whatsapp_signature
from sandbox.web import BadRequest, Request, Response, json_response

VERSION = re.compile(r"^v\d+(\.\d+)?$")
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
TEMPLATE_STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
MEDIA_TYPES = ("image", "document", "video", "audio", "sticker")
MESSAGE_TYPES = (*MEDIA_TYPES, "text", "template", "interactive", "location", "contacts", "reaction")
INVALID_TOKEN = "invalid"  # noqa: S105 - the sandbox's agreed "bad token" value
DEFAULT_FAIL_CODE = 131026
DEFAULT_THROTTLE_CODE = 130429
REGISTRATION = "whatsapp"

_ERROR_TITLES = {
    100: "Invalid parameter",
    130429: "Rate limit hit",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131051: "Unsupported message type",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    132001: "Template name does not exist in the translation",
    190: "Invalid OAuth access token - Cannot parse access token",
}


def _status_for(code: int) -> int:
    if code == 190:
        return 401
    if code == 10 or 200 <= code <= 299:
        return 403
    if code in (1, 2, 131000, 131016):
        return 500
    return 400


def graph_error(
    code: int, message: str | None = None, *, details: str | None = None, status: int | None = None,
    headers: Mapping[str, str] | None = None, subcode: int | None = None,
) -> Response:
    error: dict[str, Any] = {
        "message": message or f"(#{code}) {_ERROR_TITLES.get(code, 'Error')}",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": ids.fbtrace_id(),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return json_response(status or _status_for(code), {"error": error}, headers)


def _invalid(details: str) -> Response:
    return graph_error(100, "(#100) Invalid parameter", details=details)


def _validate_message(body: Mapping[str, Any]) -> str | None:
    """Why Graph would refuse this message body (its ``error_data.details``), or None."""
    if body.get("messaging_product") != "whatsapp":
        return "The parameter messaging_product is required and must be 'whatsapp'."
    if not str(body.get("to") or "").strip():
        return "The parameter to is required."
    kind = body.get("type") or "text"
    if kind not in MESSAGE_TYPES:
        return f"Param type must be one of {{{', '.join(MESSAGE_TYPES)}}}."
    content = body.get(kind)
    if not isinstance(content, Mapping) and not (kind == "contacts" and isinstance(content, list)):
        return f"The parameter {kind} is required."
    content = cast(Mapping[str, Any], content)  # a list only for contacts, which no branch below reads
    if kind == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text:
            return "The parameter text['body'] is required."
        if len(text) > 4096:
            return "Param text['body'] must be at most 4096 characters long."
    elif kind in MEDIA_TYPES and not (content.get("link") or content.get("id")):
        return f"Param {kind} must contain either link or id."
    elif kind == "template":
        language = content.get("language")
        if not content.get("name"):
            return "The parameter template['name'] is required."
        if not isinstance(language, Mapping) or not language.get("code"):
            return "The parameter template['language']['code'] is required."
        for component in content.get("components") or []:
            problem = _button_component_problem(component)
            if problem:
                return problem
    elif kind == "interactive":
        if not content.get("type"):
            return "The parameter interactive['type'] is required."
        if not isinstance(content.get("action"), Mapping):
            return "The parameter interactive['action'] is required."
    elif kind == "location" and (content.get("latitude") is None or content.get("longitude") is None):
        return "The parameters location['latitude'] and location['longitude'] are required."
    elif kind == "reaction" and not content.get("message_id"):
        return "The parameter reaction['message_id'] is required."
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and len(str(opaque)) > 512:
        return "Param biz_opaque_callback_data must be at most 512 characters long."
    return None


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode()


def _from_cursor(cursor: str) -> int:
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode()))
    except ValueError:
        return 0


class WhatsAppProvider(Provider):
    channel = "whatsapp"
    registration_kind = REGISTRATION

    def handle(self, request: Request, segments: list[str]) -> Response:
        if len(segments) != 3 or not VERSION.match(segments[0]):
            return self.finish(request, graph_error(100, "Unknown path components", status=404), "not_found")
        token = request.header("Authorization").removeprefix("Bearer").strip()
        if not token or token == INVALID_TOKEN:
            return self.finish(request, graph_error(190, status=401), "unauthorized")
        node, edge = segments[1], segments[2]
        try:
            if edge == "messages" and request.method == "POST":
                return self._send(request, node)
            if edge == "message_templates":
                return self._templates(request, node)
        except BadRequest as exc:
            return self.finish(request, _invalid(str(exc)), "invalid")
        return self.finish(
            request,
            graph_error(100, f"Unsupported {request.method.lower()} request.", subcode=33, status=400),
            "invalid",
        )

    # ---- messages ------------------------------------------------------------------------

    def _send(self, request: Request, phone_number_id: str) -> Response:
        body = request.params()
        problem = _validate_message(body)
        recipient = str(body.get("to") or "")
        destination = recipient.lstrip("+")
        if problem:
            return self.finish(request, _invalid(problem), "invalid", destination)
        message_id = ids.wamid(destination)

        def success() -> Response:
            accepted: dict[str, Any] = {"id": message_id}
            if body.get("type") == "template":
                accepted["message_status"] = "accepted"
            return json_response(200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": recipient, "wa_id": destination}],
                "messages": [accepted],
            })

        extra = {}
        if body.get("biz_opaque_callback_data") is not None:
            extra["biz_opaque_callback_data"] = str(body["biz_opaque_callback_data"])
        return self.send(
            request, destination=destination, provider_id=message_id, success=success,
            account=phone_number_id, extra=extra,
        )

    def fail_response(self, behaviour: Behaviour) -> Response:
        code = behaviour.int_code_or(DEFAULT_FAIL_CODE)
        return graph_error(code, behaviour.error_text, details=behaviour.error_text)

    def throttle_response(self, behaviour: Behaviour) -> Response:
        code = behaviour.int_code_or(DEFAULT_THROTTLE_CODE)
        return graph_error(
            code, behaviour.error_text, status=429,
            details="Cloud API message throughput has been reached.",
            headers={"Retry-After": str(behaviour.retry_after_seconds())},
        )

    # ---- templates -----------------------------------------------------------------------

    def _templates(self, request: Request, waba_id: str) -> Response:
        if request.method == "POST":
            return self._create_template(request, waba_id)
        if request.method == "GET":
            return self.finish(request, self._list_templates(request, waba_id), "success")
        if request.method == "DELETE":
            return self._delete_template(request, waba_id)
        return self.finish(request, graph_error(100, "Unsupported request method", status=405), "invalid")

    def _create_template(self, request: Request, waba_id: str) -> Response:
        body = request.params()
        name = str(body.get("name") or "")
        category = str(body.get("category") or "").upper()
        language = body.get("language")
        components = body.get("components")
        problem = None
        if not TEMPLATE_NAME.match(name):
            problem = "name must be lowercase letters, digits and underscores."
        elif category not in CATEGORIES:
            problem = f"category must be one of {', '.join(CATEGORIES)}."
        elif not isinstance(language, str) or not language:
            problem = "language is required."
        elif not isinstance(components, list) or not components:
            problem = "components is required."
        if problem:
            return self.finish(request, _invalid(problem), "invalid")
        status = self.state.settings().get("templateStatus", "APPROVED").upper()
        template = {
            "id": str(ids.GRAPH_ID_BASE + self.state.next_int()),
            "name": name,
            "language": language,
            "status": status if status in TEMPLATE_STATUSES else "APPROVED",
            "category": category,
            "components": components,
        }
        if not self.state.add_template(waba_id, template):
            response = graph_error(
                100, "Invalid parameter", subcode=2388024,
                details=f"Message template {name} already exists in {language}.",
            )
            return self.finish(request, response, "invalid")
        answer = {"id": template["id"], "status": template["status"], "category": category}
        return self.finish(request, json_response(200, answer), "success")

    def _list_templates(self, request: Request, waba_id: str) -> Response:
        templates = self.state.templates(waba_id)
        query = request.query
        if query.get("name"):
            templates = [t for t in templates if query["name"].lower() in t["name"]]
        if query.get("status"):
            wanted = {s.strip().upper() for s in query["status"].split(",")}
            templates = [t for t in templates if t["status"] in wanted]
        if query.get("language"):
            templates = [t for t in templates if t["language"] == query["language"]]
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else 25
        limit = max(1, min(limit, 1000))
        start = _from_cursor(query["after"]) if query.get("after") else 0
        page = templates[start:start + limit]
        paging: dict[str, Any] = {}
        if page:
            paging["cursors"] = {"before": _cursor(start), "after": _cursor(start + len(page))}
            if start + len(page) < len(templates):
                host = request.header("Host") or "localhost"
                scheme = str(request.environ.get("wsgi.url_scheme", "http"))
                paging["next"] = f"{scheme}://{host}{request.path}?limit={limit}&after={_cursor(start + len(page))}"
        return json_response(200, {"data": page, "paging": paging})

    def _delete_template(self, request: Request, waba_id: str) -> Response:
        name = request.query.get("name", "")
        if not name:
            return self.finish(request, _invalid("The parameter name is required."), "invalid")
        if not self.state.delete_templates(waba_id, name, request.query.get("hsm_id") or None):
            response = graph_error(100, "Invalid parameter", subcode=2593002, details="Message template not found.")
            return self.finish(request, response, "invalid")
        return self.finish(request, json_response(200, {"success": True}), "success")

    # ---- webhooks ------------------------------------------------------------------------

    def _envelope(self, phone_number_id: str, registration: Mapping[str, Any] | None, value: dict[str, Any]) -> dict:
        registration = registration or {}
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": str(registration.get("displayPhoneNumber") or "15550000000"),
                "phone_number_id": phone_number_id,
            },
            **value,
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [{
                "id": str(registration.get("wabaId") or "0"),
                "changes": [{"value": value, "field": "messages"}],
            }],
        }

    def _status(self, entry: Mapping[str, Any], status: str, errors: list[dict] | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": entry["providerId"],
            "status": status,
            "timestamp": str(epoch_seconds()),
            "recipient_id": entry["destination"],
        }
        opaque = entry.get("extra", {}).get("biz_opaque_callback_data")
        if opaque is not None:
            item["biz_opaque_callback_data"] = opaque
        if errors:
            item["errors"] = errors
        return item

    def report_events(self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        account = str(entry["account"])
        report = entry.get("report")
        if report == FAILED:
            behaviour = report_behaviour(entry)
            code = behaviour.int_code_or(DEFAULT_FAIL_CODE)
            title = behaviour.error_text or _ERROR_TITLES.get(code, "Message failed to send")
            errors = [{
                "code": code, "title": title, "message": title,
                "error_data": {"details": title},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }]
            statuses: list[tuple[str, list[dict[str, object]] | None]] = [("failed", errors)]
        elif report == READ:
            statuses = [("delivered", None), ("read", None)]
        else:
            statuses = [("delivered", None)]
        return [
            {
                "event": status,
                "body": self._envelope(account, registration, {"statuses": [self._status(entry, status, errs)]}),
            }
            for status, errs in statuses
        ]

    def callback_target(
        self, entry: Mapping[str, Any], registration: Mapping[str, Any] | None
    ) -> CallbackTarget | None:
        if not registration or not registration.get("webhookUrl"):
            return None
        secret = str(registration.get("appSecret") or "")
        return CallbackTarget(
            url=str(registration["webhookUrl"]),
            sign=lambda body: {WHATSAPP_SIGNATURE_HEADER: whatsapp_signature(secret, body)},
        )

    def inbound_events(self, spec: Mapping[str, Any], registration: Mapping[str, Any] | None) -> list[CallbackEvent]:
        if not registration:
            raise InboundError("no webhook registered for this phone number id (PUT /_sandbox/whatsapp/{id})", 409)
        sender = str(spec.get("from") or "").lstrip("+")
        if not sender:
            raise InboundError("from is required")
        kind = str(spec.get("type") or "text")
        message: dict[str, Any] = {
            "from": sender, "id": ids.wamid(sender), "timestamp": str(epoch_seconds()), "type": kind,
        }
        text = str(spec.get("text") or "")
        if kind == "text":
            if not text:
                raise InboundError("text is required")
            message["text"] = {"body": text}
        elif kind in MEDIA_TYPES:
            media: dict[str, Any] = {
                "id": str(ids.GRAPH_ID_BASE + self.state.next_int()),
                "mime_type": str(spec.get("mimeType") or "image/jpeg"),
                "sha256": base64.b64encode(uuid.uuid4().bytes).decode(),
            }
            if text:
                media["caption"] = text
            if spec.get("fileName"):
                media["filename"] = str(spec["fileName"])
            message[kind] = media
        elif kind == "location":
            message["location"] = {
                "latitude": spec.get("latitude", 0), "longitude": spec.get("longitude", 0),
                "name": spec.get("name", ""), "address": spec.get("address", ""),
            }
        elif kind == "interactive":
            reply_id = str(spec.get("payload") or text)
            message["interactive"] = {"type": "button_reply", "button_reply": {"id": reply_id, "title": text}}
        elif kind == "button":
            message["button"] = {"payload": str(spec.get("payload") or text), "text": text}
        else:
            raise InboundError(f"unsupported WhatsApp inbound type {kind!r}")
        if spec.get("context"):
            message["context"] = {"from": str(registration.get("displayPhoneNumber") or ""), "id": str(spec["context"])}
        value = {
            "contacts": [{"profile": {"name": str(spec.get("name") or "Sandbox User")}, "wa_id": sender}],
            "messages": [message],
        }
        return [{"event": "message", "body": self._envelope(str(spec["account"]), registration, value)}]


_BUTTON_PARAMETER = {"quick_reply": "payload", "url": "text"}


def _button_component_problem(component: Any) -> str | None:
    """What Graph says about a malformed template button component (sub_type, index, parameter)."""
    if not isinstance(component, Mapping) or component.get("type") != "button":
        return None
    sub_type = component.get("sub_type")
    if sub_type not in _BUTTON_PARAMETER:
        return "Param template['components'][*]['sub_type'] must be one of {QUICK_REPLY, URL, ...}."
    if not str(component.get("index", "")).isdigit():
        return "The parameter template['components'][*]['index'] is required."
    parameters = component.get("parameters")
    wanted = _BUTTON_PARAMETER[sub_type]
    if (
        not isinstance(parameters, list) or len(parameters) != 1 or not isinstance(parameters[0], Mapping)
        or parameters[0].get("type") != wanted or not parameters[0].get(wanted)
    ):
        return f"Button {sub_type} needs one parameter of type {wanted}."
    return None
