"""Chat API ``trafficAccounts/{id}/WhatsAppTemplates``: thin views over the template services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_app.authentication import CustomerRequest
from channels_app.content.bounds import bounded_json
from channels_app.content.common import EnumField
from channels_app.models import WhatsAppTemplate
from channels_app.providers.whatsapp.content import LANGUAGE_CODE, TEMPLATE_NAME
from channels_app.representations import iso
from channels_app.services.templates import (
    CATEGORIES,
    COMPONENT_TYPES,
    template_create,
    template_delete,
    template_list,
    template_sync,
    whatsapp_account_get,
)

TAGS = ["WhatsAppTemplates"]
NAME_RULE = "Use 1-512 lowercase letters, digits or underscores."


def template_json(template: WhatsAppTemplate) -> dict[str, Any]:
    return {
        "id": str(template.id),
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "components": template.components,
        "status": template.status,
        "rejectedReason": template.rejected_reason or None,
        "providerTemplateId": template.provider_template_id or None,
        "createdAt": iso(template.created_at),
        "updatedAt": iso(template.updated_at),
    }


class ComponentsField(serializers.ListField):
    """Meta's component objects, passed through whole with ``type`` in Meta's upper case.

    Only what every template needs is checked here (a known type, each type once, a BODY with
    text); the finer rules (button kinds, example values) are Meta's, whose refusal comes back as
    a 502 carrying its own explanation.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.DictField(), allow_empty=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            raise exceptions.ValidationError(["Must be a list of component objects."])
        if not data:
            raise exceptions.ValidationError(["At least one component (a BODY) is required."])
        bounded_json(data)  # also refuses a NUL anywhere, naming its path
        components: list[dict[str, Any]] = []
        errors: list[Any] = []
        seen: set[str] = set()
        for item in data:
            error, component = _component(item, seen)
            errors.append(error)
            components.append(component)
        if any(errors):
            raise exceptions.ValidationError(errors)
        if "BODY" not in seen:
            raise exceptions.ValidationError(["A BODY component is required."])
        return components


def _component(item: Any, seen: set[str]) -> tuple[dict[str, list[str]] | list[str], dict[str, Any]]:
    """The item's errors (``{}`` when valid) and its canonical form."""
    if not isinstance(item, Mapping):
        return ["Must be an object."], {}
    kind = str(item.get("type", "")).upper()
    if kind not in COMPONENT_TYPES:
        return {"type": [f"Must be one of {', '.join(COMPONENT_TYPES)}."]}, {}
    if kind in seen:
        return {"type": [f"Only one {kind} component is allowed."]}, {}
    seen.add(kind)
    if kind == "BODY" and not (isinstance(item.get("text"), str) and item["text"].strip()):
        return {"text": ["A BODY component needs its text."]}, {}
    return {}, {**item, "type": kind}


class TemplateCreateSerializer(serializers.Serializer):
    category = EnumField(CATEGORIES)
    language = serializers.RegexField(
        LANGUAGE_CODE, error_messages={"invalid": "Enter a WhatsApp language code such as en or en_US."}
    )
    components = ComponentsField()


class TemplateDoc(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    language = serializers.CharField()
    category = serializers.ChoiceField(CATEGORIES)
    components = serializers.ListField(child=serializers.DictField())
    status = serializers.CharField(help_text="Meta's review status: APPROVED, PENDING, REJECTED, PAUSED, DISABLED")
    rejectedReason = serializers.CharField(allow_null=True)
    providerTemplateId = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


CREATE_EXAMPLE = OpenApiExample(
    "Order update",
    value={
        "category": "UTILITY",
        "language": "en_US",
        "components": [
            {"type": "BODY", "text": "Your order {{1}} has shipped.", "example": {"body_text": [["12345"]]}}
        ],
    },
)

PROBLEMS = {
    400: OpenApiResponse(description="Invalid input, or the traffic account is not a WhatsApp account"),
    404: OpenApiResponse(description="No such traffic account (or template) for this customer"),
    502: OpenApiResponse(description="WhatsApp refused the call; `providerCode` and `providerText` say why"),
}


def _refresh_flag(request: Request) -> bool:
    value = request.query_params.get("refresh")
    if not value:
        return False
    try:
        return bool(serializers.BooleanField().to_internal_value(value))
    except exceptions.ValidationError as exc:
        raise exceptions.ValidationError({"refresh": ["Must be true or false."]}) from exc


class WhatsAppTemplateListApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="List a traffic account's WhatsApp templates",
        parameters=[
            OpenApiParameter("refresh", bool, description="First replace the list with the provider's (Meta's).")
        ],
        responses={200: TemplateDoc(many=True), **PROBLEMS},
    )
    def get(self, request: CustomerRequest, traffic_account_id: str) -> Response:
        account = whatsapp_account_get(customer=request.user, traffic_account_id=traffic_account_id)
        if _refresh_flag(request):
            template_sync(account=account)
        return Response([template_json(t) for t in template_list(account=account)])


class WhatsAppTemplateDetailApi(APIView):
    schema_action = "retrieve"  # its GET's operation id; the account's whole list is the "list"

    @extend_schema(
        tags=TAGS,
        summary="Get a WhatsApp template in every language it exists in",
        operation_id="v1_trafficAccounts_WhatsAppTemplates_retrieve",
        responses={200: TemplateDoc(many=True), **PROBLEMS},
    )
    def get(self, request: CustomerRequest, traffic_account_id: str, name: str) -> Response:
        account = whatsapp_account_get(customer=request.user, traffic_account_id=traffic_account_id)
        templates = [template_json(t) for t in template_list(account=account, name=name)]
        if not templates:
            raise exceptions.NotFound(f"Template {name!r} does not exist for traffic account {account.id}.")
        return Response(templates)

    @extend_schema(
        tags=TAGS,
        summary="Create a WhatsApp template (submitted to Meta for review)",
        request=TemplateCreateSerializer,
        examples=[CREATE_EXAMPLE],
        responses={201: TemplateDoc, 409: OpenApiResponse(description="The name exists in that language"), **PROBLEMS},
    )
    def post(self, request: CustomerRequest, traffic_account_id: str, name: str) -> Response:
        account = whatsapp_account_get(customer=request.user, traffic_account_id=traffic_account_id)
        serializer = TemplateCreateSerializer(data=request.data)
        # The name comes from the path; its error is reported together with the body's.
        name_errors = {} if TEMPLATE_NAME.match(name) else {"name": [NAME_RULE]}
        if not serializer.is_valid() or name_errors:
            raise exceptions.ValidationError({**name_errors, **serializer.errors})
        template = template_create(account=account, name=name, **serializer.validated_data)
        return Response(template_json(template), status=201)

    @extend_schema(
        tags=TAGS,
        summary="Delete a WhatsApp template in all its languages (at Meta and here)",
        responses={204: None, **PROBLEMS},
    )
    def delete(self, request: CustomerRequest, traffic_account_id: str, name: str) -> Response:
        account = whatsapp_account_get(customer=request.user, traffic_account_id=traffic_account_id)
        template_delete(account=account, name=name)
        return Response(status=204)
