"""``GET /statistics``: message counts per traffic account, channel and delivery status."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_app.authentication import CustomerRequest
from channels_app.representations import iso
from channels_app.services.statistics import Statistics, max_range, message_statistics
from channels_app.status_filter import FILTER_VALUES, delivery_status_canonical
from gateway.channels import Channel
from gateway.openapi import UUID_QUERY, case_insensitive_choice


def _instant(request: Request, name: str, errors: dict[str, list[str]]) -> dt.datetime | None:
    """An ISO-8601 date-time (no offset means UTC) or a date (its midnight UTC); None after
    recording the error, so every bad parameter is reported at once."""
    value = request.query_params.get(name, "").strip()
    if not value:
        errors[name] = ["This query parameter is required (ISO-8601, e.g. 2024-05-01T00:00:00Z)."]
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = dt.datetime.combine(day, dt.time.min)
    except ValueError:
        parsed = None
    if parsed is None:
        errors[name] = ["Must be an ISO-8601 date-time or date."]
        return None
    # Echoed back in UTC, like every timestamp the API answers with.
    return parsed.astimezone(dt.UTC) if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


def _query(request: Request) -> tuple[dt.datetime, dt.datetime, dict[str, Any]]:
    """The window and filters of the query string; every bad parameter is reported at once."""
    errors: dict[str, list[str]] = {}
    start, end = _instant(request, "from", errors), _instant(request, "to", errors)
    if start is not None and end is not None:
        if end <= start:
            errors["to"] = ["Must be after from."]
        elif end - start > max_range():
            errors["to"] = [f"The range may span at most {max_range().days} days."]
    filters: dict[str, Any] = {}
    account = request.query_params.get("trafficAccountId")
    if account:
        try:
            filters["traffic_account_id"] = uuid.UUID(account)
        except ValueError:
            errors["trafficAccountId"] = ["Must be a UUID."]
    channel = request.query_params.get("channel")
    if channel:
        filters["channel"] = channel.strip().lower()
        if filters["channel"] not in Channel.ALL:
            errors["channel"] = [f"Must be one of {', '.join(Channel.ALL)}."]
    delivery_status = request.query_params.get("deliveryStatus")
    if delivery_status:
        try:
            filters["delivery_status"] = delivery_status_canonical(delivery_status)
        except exceptions.ValidationError as exc:
            errors.update(cast(dict[str, list[str]], exc.detail))  # raised with a dict of messages
    reference = request.query_params.get("reference")
    if reference:
        filters["reference"] = reference
    if errors or start is None or end is None:
        raise exceptions.ValidationError(errors)
    return start, end, filters


def statistics_json(statistics: Statistics) -> dict[str, Any]:
    totals = statistics.totals
    return {
        "from": iso(statistics.created_from),
        "to": iso(statistics.created_to),
        "items": [
            {
                "trafficAccountId": str(row.traffic_account_id),
                "channel": row.channel,
                "deliveryStatus": row.status,
                "count": row.count,
            }
            for row in statistics.rows
        ],
        "totals": totals,
        "total": sum(totals.values()),
    }


class StatisticsItemDoc(serializers.Serializer):
    trafficAccountId = serializers.UUIDField()
    channel = serializers.CharField()
    deliveryStatus = serializers.CharField()
    count = serializers.IntegerField()


class StatisticsDoc(serializers.Serializer):
    items = StatisticsItemDoc(many=True)
    totals = serializers.DictField(child=serializers.IntegerField(), help_text="Count per delivery status")
    total = serializers.IntegerField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so the two bounds are added here rather than declared.
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField()
        fields["to"] = serializers.DateTimeField()
        return fields


DATE_OR_DATETIME = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}


class StatisticsApi(APIView):
    @extend_schema(
        tags=["Statistics"],
        summary="Count outbound messages per traffic account, channel and delivery status",
        description=(
            "Messages created in [from, to). Failover backups that were never triggered (never Created) "
            "are not counted. The range may span at most STATISTICS_MAX_RANGE_DAYS (default 93) days."
        ),
        parameters=[
            OpenApiParameter("from", DATE_OR_DATETIME, required=True, description="ISO-8601, inclusive"),
            OpenApiParameter("to", DATE_OR_DATETIME, required=True, description="ISO-8601, exclusive; after from"),
            OpenApiParameter("trafficAccountId", UUID_QUERY),
            OpenApiParameter("channel", case_insensitive_choice(list(Channel.ALL)), description="Case-insensitive."),
            OpenApiParameter(
                "deliveryStatus",
                case_insensitive_choice(FILTER_VALUES),
                description="Case-insensitive; one of " + ", ".join(FILTER_VALUES) + ".",
            ),
            OpenApiParameter("reference", str, description="Only messages sent with this `reference`."),
        ],
        responses={
            200: StatisticsDoc,
            400: OpenApiResponse(description="Missing or invalid from/to (or a wider range than allowed) or filters"),
        },
        examples=[
            OpenApiExample(
                "One account",
                response_only=True,
                value={
                    "from": "2024-05-01T00:00:00Z",
                    "to": "2024-06-01T00:00:00Z",
                    "items": [
                        {
                            "trafficAccountId": "4ae53d46-66d8-4aff-9f13-621f53b9aaaa",
                            "channel": "sms",
                            "deliveryStatus": "Delivered",
                            "count": 120,
                        },
                        {
                            "trafficAccountId": "4ae53d46-66d8-4aff-9f13-621f53b9aaaa",
                            "channel": "sms",
                            "deliveryStatus": "Failed",
                            "count": 3,
                        },
                    ],
                    "totals": {"Delivered": 120, "Failed": 3},
                    "total": 123,
                },
            )
        ],
    )
    def get(self, request: CustomerRequest) -> Response:
        start, end, filters = _query(request)
        statistics = message_statistics(customer=request.user, created_from=start, created_to=end, **filters)
        return Response(statistics_json(statistics))
