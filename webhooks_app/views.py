"""Chat API webhook endpoints: thin views over the subscription and delivery services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_app.authentication import CustomerRequest
from webhooks_app import selectors
from webhooks_app.serializers import (
    RotatedSecretSerializer,
    WebhookDeliverySerializer,
    WebhookMappingSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
    WebhookWriteSerializer,
)
from webhooks_app.services.delivery import delivery_redeliver
from webhooks_app.services.subscriptions import (
    webhook_apply,
    webhook_create,
    webhook_delete,
    webhook_rotate_secret,
    webhook_unapply,
    webhook_update,
)

TAG = "Webhook"
WEBHOOK_ID = "3f0c9a8e-2b7d-4c1e-9a5f-6d8e7b1c2a40"
TRAFFIC_ACCOUNT_ID = "59af552a-e2f2-11eb-b862-482ae3643973"

CREATE_EXAMPLE = OpenApiExample(
    "Status reports and user messages",
    value={
        "name": "CRM",
        "url": "https://crm.example.com/hooks/chat",
        "triggers": ["Delivered", "Failed", "Read", "UserMessage"],
        "isActive": True,
    },
    request_only=True,
)
UPDATE_EXAMPLE = OpenApiExample(
    "Only failures from now on (replaces the trigger set)", value={"triggers": ["Failed"]}, request_only=True
)
WEBHOOK_EXAMPLE = {
    "id": WEBHOOK_ID,
    "name": "CRM",
    "url": "https://crm.example.com/hooks/chat",
    "triggers": ["Delivered", "Failed", "Read", "UserMessage"],
    "isActive": True,
    "trafficAccountIds": [TRAFFIC_ACCOUNT_ID],
    "createdAt": "2024-05-02T09:15:27.114Z",
    "updatedAt": "2024-05-02T09:15:27.114Z",
}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - a documentation example
MAPPING_EXAMPLE = OpenApiExample(
    "Apply", value={"webhookId": WEBHOOK_ID, "trafficAccountId": TRAFFIC_ACCOUNT_ID}, request_only=True
)
DELIVERY_EXAMPLE = {
    "id": "0c4f1e2a-9d7b-4b3e-8f6a-1a2b3c4d5e6f",
    "eventId": "0c4f1e2a-9d7b-4b3e-8f6a-1a2b3c4d5e6f",
    "eventType": "Delivered",
    "messageId": "c0e8a1f4-3b2d-4e5f-9a8b-7c6d5e4f3a2b",
    "status": "Succeeded",
    "createdAt": "2024-05-02T09:16:01.204Z",
    "lastAttemptAt": "2024-05-02T09:16:06.911Z",
    "nextAttemptAt": None,
    "payload": {
        "eventId": "0c4f1e2a-9d7b-4b3e-8f6a-1a2b3c4d5e6f",
        "eventType": "Delivered",
        "occurredAt": "2024-05-02T09:16:00.871Z",
        "messageId": "c0e8a1f4-3b2d-4e5f-9a8b-7c6d5e4f3a2b",
        "trafficAccountId": TRAFFIC_ACCOUNT_ID,
        "conversationId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "channel": "sms",
        "deliveryStatus": "Delivered",
        "destination": "+41751231234",
        "error": None,
        "createdAt": "2024-05-02T09:15:59.402Z",
        "reference": "Campaign 2024-05",
        "metadata": {"orderId": "A-1042"},
    },
    "attempts": [
        {
            "attemptedAt": "2024-05-02T09:16:01.230Z",
            "statusCode": 503,
            "latencyMs": 41.7,
            "error": "The receiver answered with an error status.",
        },
        {
            "attemptedAt": "2024-05-02T09:16:06.911Z",
            "statusCode": 200,
            "latencyMs": 12.3,
            "error": "",
        },
    ],
}
SIGNING_NOTE = (
    " Events are POSTed as JSON and signed the Standard Webhooks way: headers `webhook-id` (the event id), "
    "`webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of `id.timestamp.body` keyed with the "
    "base64 after `whsec_`). Verify with any Standard Webhooks library."
)


def _validated(serializer_class: type, data: Any, *, partial: bool = False, context: dict | None = None) -> Any:
    serializer = serializer_class(data=data, partial=partial, context=context or {})
    serializer.is_valid(raise_exception=True)
    return serializer


class WebhookListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="List your webhooks",
        responses={200: WebhookSerializer(many=True)},
        examples=[OpenApiExample("Webhooks", value=[WEBHOOK_EXAMPLE], response_only=True)],
    )
    def get(self, request: CustomerRequest) -> Response:
        return Response(WebhookSerializer(selectors.webhook_list(customer=request.user), many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="Create a webhook",
        description=(
            "Triggers are any of Delivered, Failed, Read, UserMessage (case-insensitive). The URL must be http(s), "
            "carry no credentials and resolve to an allowed address. The response is the only time the signing "
            "`secret` is shown." + SIGNING_NOTE
        ),
        request=WebhookWriteSerializer,
        responses={201: WebhookWithSecretSerializer},
        examples=[
            CREATE_EXAMPLE,
            OpenApiExample("Created", value={**WEBHOOK_EXAMPLE, "trafficAccountIds": [], "secret": SECRET},
                           response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: CustomerRequest) -> Response:
        data = _validated(WebhookWriteSerializer, request.data, context={"customer": request.user})
        webhook = webhook_create(customer=request.user, **data.service_fields())
        return Response(WebhookWithSecretSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Get a webhook",
        responses={200: WebhookSerializer},
        examples=[OpenApiExample("Webhook", value=WEBHOOK_EXAMPLE, response_only=True)],
    )
    def get(self, request: CustomerRequest, webhook_id: str) -> Response:
        return Response(WebhookSerializer(selectors.webhook_get(customer=request.user, webhook_id=webhook_id)).data)

    @extend_schema(
        tags=[TAG],
        summary="Change a webhook",
        description=(
            "Replaces the fields given. `triggers` replaces the whole trigger set: include every trigger you want."
        ),
        request=WebhookWriteSerializer,
        responses={200: WebhookSerializer},
        examples=[UPDATE_EXAMPLE, OpenApiExample("Updated", value=WEBHOOK_EXAMPLE, response_only=True)],
    )
    def put(self, request: CustomerRequest, webhook_id: str) -> Response:
        webhook = selectors.webhook_get(customer=request.user, webhook_id=webhook_id)
        data = _validated(WebhookWriteSerializer, request.data, partial=True, context={"customer": request.user})
        webhook = webhook_update(webhook=webhook, **data.service_fields())
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(tags=[TAG], summary="Delete a webhook with its delivery log", responses={204: None})
    def delete(self, request: CustomerRequest, webhook_id: str) -> Response:
        webhook_delete(webhook=selectors.webhook_get(customer=request.user, webhook_id=webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Rotate the signing secret",
        description=(
            "Answers with the new secret (shown only here). Until `previousSecretExpiresAt` events carry a "
            "signature for each secret, so receivers can switch over without losing events."
        ),
        request=None,
        responses={200: RotatedSecretSerializer},
        examples=[
            OpenApiExample(
                "Rotated",
                value={**WEBHOOK_EXAMPLE, "secret": SECRET, "previousSecretExpiresAt": "2024-05-03T09:15:27.114Z"},
                response_only=True,
            )
        ],
    )
    def post(self, request: CustomerRequest, webhook_id: str) -> Response:
        webhook = selectors.webhook_get(customer=request.user, webhook_id=webhook_id)
        rotated = webhook_rotate_secret(webhook=webhook)
        return Response(RotatedSecretSerializer(rotated.webhook).data)


class WebhookApplyApi(APIView):
    problem_statuses = (404,)

    @extend_schema(
        tags=[TAG],
        summary="Send a traffic account's events to a webhook",
        description="Idempotent: applying again answers 200 and changes nothing.",
        request=WebhookMappingSerializer,
        responses={201: WebhookMappingSerializer, 200: WebhookMappingSerializer},
        examples=[MAPPING_EXAMPLE],
    )
    def post(self, request: CustomerRequest) -> Response:
        data = _validated(WebhookMappingSerializer, request.data).validated_data
        created = webhook_apply(
            customer=request.user, webhook_id=data["webhookId"], traffic_account_id=data["trafficAccountId"]
        )
        body = {"webhookId": str(data["webhookId"]), "trafficAccountId": str(data["trafficAccountId"])}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class WebhookUnapplyApi(APIView):
    problem_statuses = (400, 404)

    @extend_schema(
        tags=[TAG],
        summary="Stop sending a traffic account's events to a webhook",
        description=(
            "`webhookId` and `trafficAccountId` come from the query string (documented here) or, for clients "
            "that send them as a JSON body, from the body."
        ),
        parameters=[
            OpenApiParameter("webhookId", OpenApiTypes.UUID, required=True),
            OpenApiParameter("trafficAccountId", OpenApiTypes.UUID, required=True),
        ],
        request=None,
        responses={204: None},
    )
    def delete(self, request: CustomerRequest) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        merged = {**request.query_params.dict(), **body}
        data = _validated(WebhookMappingSerializer, merged).validated_data
        webhook_unapply(
            customer=request.user, webhook_id=data["webhookId"], traffic_account_id=data["trafficAccountId"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = 500


class WebhookDeliveryListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="The webhook's events, newest first, each with its attempts",
        parameters=[
            OpenApiParameter("status", str, enum=["Pending", "Succeeded", "Failed"]),
            OpenApiParameter("cursor", str),
            OpenApiParameter("pageSize", int),
        ],
        responses={200: WebhookDeliverySerializer(many=True)},
        examples=[
            OpenApiExample(
                "Deliveries", value={"next": None, "previous": None, "results": [DELIVERY_EXAMPLE]}, response_only=True
            )
        ],
    )
    def get(self, request: CustomerRequest, webhook_id: str) -> Response:
        webhook = selectors.webhook_get(customer=request.user, webhook_id=webhook_id)
        deliveries = selectors.delivery_list(webhook=webhook, status=request.query_params.get("status"))
        paginator = DeliveryCursorPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookRedeliverApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Send an event again",
        description=(
            "Resets a succeeded or failed delivery to pending with a fresh retry budget and the SAME event id "
            "(`webhook-id`), so receivers that deduplicate on it stay correct. A pending delivery answers 409."
        ),
        request=None,
        responses={202: WebhookDeliverySerializer},
        examples=[
            OpenApiExample(
                "Queued again",
                value={**DELIVERY_EXAMPLE, "status": "Pending", "nextAttemptAt": "2024-05-02T10:00:00.000Z"},
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request: CustomerRequest, webhook_id: str, delivery_id: str) -> Response:
        webhook = selectors.webhook_get(customer=request.user, webhook_id=webhook_id)
        delivery = selectors.delivery_get(webhook=webhook, delivery_id=delivery_id)
        delivery_redeliver(delivery=delivery)
        delivery = selectors.delivery_get(webhook=webhook, delivery_id=delivery_id)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
