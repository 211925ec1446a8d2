"""Chat API message endpoints: thin views over the send services and selectors."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as json_string
from typing import Any

import orjson
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_app.authentication import CustomerRequest
from accounts_app.models import Customer
from channels_app import selectors
from channels_app.api_docs import (
    BULK_REQUEST,
    LIST_RESPONSE,
    SEND_REQUEST,
    SEND_RESPONSE,
    BulkProgressDoc,
    BulkSendDoc,
    MessageDetailDoc,
)
from channels_app.lean_api import LeanJSONPostView, json_response
from channels_app.representations import message_detail_json, message_json
from channels_app.services.idempotency import MAX_KEY_LENGTH, idempotent
from channels_app.services.sending import BulkResult, message_send, message_send_bulk
from channels_app.status_filter import FILTER_VALUES, delivery_status_canonical
from gateway.openapi import DATETIME_QUERY, UUID_QUERY, case_insensitive_choice

SEND_EXAMPLES = [
    OpenApiExample(
        "SMS",
        value={
            "trafficAccountId": "4ae53d46-66d8-4aff-9f13-621f53b9aaaa",
            "destination": "+41751231234",
            "sms": {"text": "Hi, this is test msg.", "sender": "+44123456789123"},
        },
    ),
    OpenApiExample(
        "Telegram text",
        value={
            "trafficAccountId": "59af552a-e2f2-11eb-b862-482ae3643973",
            "destination": "1861312834",
            "telegram": {"silent": True, "text": {"parseMode": "Html", "message": "Hi, how can I help you today?"}},
        },
    ),
    OpenApiExample(
        "Viber Business Messages (a business traffic account; a bot account takes Viber user ids)",
        value={
            "trafficAccountId": "fea74b75-8b26-4cef-8d79-162ceaef2056",
            "destination": "+385911234567",
            "viber": {"type": "transactional", "text": "Hi, how can I help you today?", "ttl": 3600},
        },
    ),
    OpenApiExample(
        "GBM",
        value={
            "trafficAccountId": "9dbe5291-6292-48ad-8aab-6383d8f7aaaa",
            "destination": "bb8ceef0-90b4-4876-9467-c8c9ecc1c4e0",
            "gbm": {
                "text": {"message": "Hi, this is test message."},
                "representative": {"displayName": "Mark Marcus", "representativeType": "HUMAN"},
            },
        },
    ),
    OpenApiExample(
        "WhatsApp with SMS failover",
        value={
            "destination": "+41751231234",
            "whatsapp": {"type": "regular", "regular": {"type": "text", "text": "Your code is 1234"}},
            "sms": {"text": "Your code is 1234", "sender": "MyBrand"},
            "failover": {
                "type": "Timeout",
                "timeoutFailover": {
                    "timeoutInSeconds": 20,
                    "status": "Delivered",
                    "trafficAccounts": ["679b453b-c876-49b0-b30e-c2b4c1c6aaaa", "679b453b-c876-49b0-b30e-c2b4c1c6bbbb"],
                },
            },
        },
    ),
]


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": MAX_KEY_LENGTH},
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key and body answers the first response instead of sending again (24 h).",
)


def _send_answer(request: HttpRequest | Request, customer: Customer, payload: Any) -> tuple[int, Any]:
    def work() -> tuple[int, Any]:
        accepted = message_send(customer=customer, payload=payload)
        first = accepted.messages[0]
        if first.failover_chain_id:
            return 200, [str(m.id) for m in accepted.messages]
        return 200, message_json(first, participants=accepted.participants)

    return idempotent(
        customer=customer,
        key=request.META.get("HTTP_IDEMPOTENCY_KEY"),
        path=request.path_info,
        payload=payload,
        work=work,
    )


def _bulk_answer(request: HttpRequest | Request, customer: Customer, payload: Any) -> tuple[int, Any] | bytes:
    """The encoded answer, or with an Idempotency-Key the (status, JSON value) stored for replays."""

    def accept() -> bytes:
        # The answer is rendered before the transaction commits: the commit publishes the
        # dispatch, and the sending it starts (and the delivery reports that come back)
        # compete with whatever this request still has to do.
        with transaction.atomic():
            return _bulk_json(message_send_bulk(customer=customer, payload=payload))

    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key:
        return idempotent(
            customer=customer, key=key, path=request.path_info, payload=payload,
            work=lambda: (200, orjson.loads(accept())),
        )
    return accept()


class MessageSendApi(LeanJSONPostView):
    # Served by channels_app.lean_api (answer_post); post answers the requests that take DRF's cycle.
    # A comment, not a docstring: DRF's OPTIONS answer shows the docstring as the description.
    problem_statuses = (404, 409)

    @extend_schema(
        tags=["Message"],
        summary="Send one message (or a failover chain)",
        parameters=[IDEMPOTENCY_HEADER],
        request={"application/json": SEND_REQUEST},
        responses={200: SEND_RESPONSE},
        examples=SEND_EXAMPLES,
        description=(
            "Answers with the message (the Chat API's shape). With `failover`, answers with the list of message ids, "
            "one per hop, in chain order. 404: a traffic account is not yours; 409: a traffic account is inactive, "
            "or the Idempotency-Key was used for a different request."
        ),
    )
    def post(self, request: CustomerRequest) -> Response:
        status_code, body = _send_answer(request, request.user, request.data)
        return Response(body, status=status_code)

    def answer_post(self, request: HttpRequest, customer: Customer, payload: Any) -> HttpResponse:
        status_code, body = _send_answer(request, customer, payload)
        return json_response(body, status_code)


class MessageBulkSendApi(LeanJSONPostView):
    # Served by channels_app.lean_api (answer_post); post answers the requests that take DRF's cycle.
    # A comment, not a docstring: DRF's OPTIONS answer shows the docstring as the description.
    problem_statuses = (404, 409)

    @extend_schema(
        tags=["Message"],
        summary="Send one message to many destinations",
        parameters=[IDEMPOTENCY_HEADER],
        request={"application/json": BULK_REQUEST},
        responses={200: BulkSendDoc},
        description=(
            "Up to SENDBULK_MAX_DESTINATIONS (default 100,000) destinations; more answers 413. A bulk with any "
            "invalid destination is refused whole (400) with the index of every bad one as `destinations[i]`."
        ),
    )
    def post(self, request: CustomerRequest) -> HttpResponse:
        answer = _bulk_answer(request, request.user, request.data)
        if isinstance(answer, bytes):
            return HttpResponse(answer, content_type="application/json")
        return Response(answer[1], status=answer[0])

    def answer_post(self, request: HttpRequest, customer: Customer, payload: Any) -> HttpResponse:
        answer = _bulk_answer(request, customer, payload)
        if isinstance(answer, bytes):
            return HttpResponse(answer, content_type="application/json")
        return json_response(answer[1], answer[0])


def _bulk_json(result: BulkResult) -> bytes:
    """The answer, encoded: one entry per destination, in the request's order, with ``messageIds``
    (the chain's hops in order) only with failover.

    Built as text rather than as a list of dicts for DRF to encode: at 100,000 destinations the
    dicts cost as much time and memory as the rest of the answer.
    """
    account = f'"trafficAccountId":"{result.traffic_account_id}"'
    with_hops = len(result.hop_message_ids) > 1
    entries = []
    for destination, chain in zip(result.destinations, zip(*result.hop_message_ids, strict=True), strict=True):
        hops = ',"messageIds":["' + '","'.join(chain) + '"]' if with_hops else ""
        entries.append(f'{{"destination":{json_string(destination)},{account},"messageId":"{chain[0]}"{hops}}}')
    return f'{{"bulkId":"{result.bulk_id}","messages":[{",".join(entries)}]}}'.encode()


class MessageCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 100
    page_size_query_param = "pageSize"
    max_page_size = 1000


def _uuid_param(request: Request, name: str) -> Any:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return serializers.UUIDField().to_internal_value(value)
    except exceptions.ValidationError as exc:
        raise exceptions.ValidationError({name: exc.detail}) from exc


def _time_param(request: Request, name: str) -> Any:
    value = request.query_params.get(name)
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise exceptions.ValidationError({name: ["Must be an ISO-8601 date-time."]})
    return parsed


def _page_size_param(request: Request) -> None:
    """CursorPagination ignores a bad ``pageSize``; the API refuses it instead, like every other parameter."""
    value = request.query_params.get("pageSize")
    if value is None:
        return
    try:
        serializers.IntegerField(min_value=1, max_value=MessageCursorPagination.max_page_size).run_validation(value)
    except exceptions.ValidationError as exc:
        raise exceptions.ValidationError({"pageSize": exc.detail}) from exc


def _status_param(request: Request) -> str | None:
    for name in ("deliveryStatus", "status"):
        value = request.query_params.get(name)
        if value:
            return delivery_status_canonical(value, parameter=name)
    return None


LIST_PARAMETERS = [
    OpenApiParameter("id", str, description="A message id: answers that message instead of a list."),
    OpenApiParameter("trafficAccountId", UUID_QUERY),
    OpenApiParameter(
        "deliveryStatus",
        case_insensitive_choice(FILTER_VALUES),
        description=(
            "Case-insensitive; one of " + ", ".join(FILTER_VALUES) + ". `Created` selects every message that was "
            "triggered (not a failover hop still waiting). Anything else is a 400."
        ),
    ),
    OpenApiParameter("destination", str),
    OpenApiParameter("bulkId", UUID_QUERY),
    OpenApiParameter("reference", str, description="Only messages sent with this `reference` (exact match)."),
    OpenApiParameter("createdAfter", DATETIME_QUERY, description="ISO-8601, inclusive"),
    OpenApiParameter("createdBefore", DATETIME_QUERY, description="ISO-8601, exclusive"),
    OpenApiParameter("cursor", str, description="The opaque cursor of a `next` or `previous` link."),
    OpenApiParameter("pageSize", {"type": "integer", "minimum": 1, "maximum": 1000}, description="Default 100."),
]


class MessageListApi(APIView):
    schema_action = "list"  # its operation id; GET /Message/{id} is the "retrieve"
    problem_statuses = (404,)

    @extend_schema(
        tags=["Message"],
        summary="Get a message by ?id=, or list messages",
        description="With `id`, answers that message (404 when it is not yours); otherwise a cursor page.",
        parameters=LIST_PARAMETERS,
        responses={200: LIST_RESPONSE},
    )
    def get(self, request: CustomerRequest) -> Response:
        if request.query_params.get("id"):
            message = selectors.message_get(customer=request.user, message_id=request.query_params["id"])
            return Response(message_detail_json(message, selectors.failover_hops(message=message)))
        status = _status_param(request)
        messages = selectors.message_list(
            customer=request.user,
            traffic_account_id=_uuid_param(request, "trafficAccountId"),
            status=status,
            destination=request.query_params.get("destination"),
            bulk_id=_uuid_param(request, "bulkId"),
            created_after=_time_param(request, "createdAfter"),
            created_before=_time_param(request, "createdBefore"),
            reference=request.query_params.get("reference"),
        )
        _page_size_param(request)
        paginator = MessageCursorPagination()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response([message_json(m) for m in page or []])


class MessageDetailApi(APIView):
    @extend_schema(
        tags=["Message"],
        summary="Get a message with its status history and failover chain",
        responses={200: MessageDetailDoc},
    )
    def get(self, request: CustomerRequest, message_id: str) -> Response:
        message = selectors.message_get(customer=request.user, message_id=message_id)
        return Response(message_detail_json(message, selectors.failover_hops(message=message)))


class BulkProgressApi(APIView):
    @extend_schema(tags=["Message"], summary="Counts per delivery status of a bulk", responses={200: BulkProgressDoc})
    def get(self, request: CustomerRequest, bulk_id: str) -> Response:
        counts = selectors.bulk_progress(customer=request.user, bulk_id=bulk_id)
        return Response({"bulkId": str(bulk_id), "total": sum(counts.values()), "deliveryStatuses": counts})
