"""What the OpenAPI document says about errors, for every operation at once.

Every error the API answers is an RFC 7807 problem (``gateway.problems``), so each operation's
error statuses are documented with one ``Problem`` schema as ``application/problem+json``, and a
shared set is added to every operation by what it can meet: a body or query (400), a login
(401), a path id or a referenced resource (404), a body the size limit may refuse (413), the
rate limits (429). A view adds statuses of its own with ``problem_statuses``. Clients generated
from the document, and contract tests run against it, then see every status the server answers.
"""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from gateway.problems import _TITLES, PROBLEM_CONTENT_TYPE

_DESCRIPTIONS = {
    400: "The request is malformed or has invalid fields (`errors` lists each with its path).",
    401: "No valid bearer token (missing, expired, revoked) or wrong credentials.",
    404: "No such resource for this customer (another customer's id answers the same).",
    409: "The request conflicts with the resource's state.",
    413: "The request is too large.",
    429: "Too many requests; retry after the `Retry-After` header's seconds.",
}


NO_NUL_PATTERN = r"^[^\u0000]*$"


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    """The Chat API's bearer JWT (from ``Customers/login``)."""

    target_class = "accounts_app.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class ProblemFieldErrorSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="JSON path of the refused input, e.g. `telegram.text.message`.")
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 7807 problem details; some problems add members of their own (e.g. ``maxDestinations``)."""

    type = serializers.CharField(help_text="A URI naming the problem type, or `about:blank`.")
    title = serializers.CharField()
    status = serializers.IntegerField(min_value=400, max_value=599)
    detail = serializers.CharField()
    # The serializer metaclass moves declared fields off the class, so Serializer.errors (the property
    # the stubs see) stays intact.
    errors = ProblemFieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]

    class Meta:
        ref_name = "Problem"


class GatewayAutoSchema(AutoSchema):
    def get_operation_id(self) -> str:
        # Two GET views on one resource (a list by query string next to a detail by path) get the
        # same generated id, which drf-spectacular numbers with a warning on every schema request.
        # A view's ``schema_action`` replaces the last part of its id instead ("list", "retrieve").
        operation_id = super().get_operation_id()
        action = getattr(self.view, "schema_action", None)
        if action is None or self.method.upper() != "GET":
            return operation_id
        return f"{operation_id.rsplit('_', 1)[0]}_{action}"

    def _error_statuses(self) -> set[int]:
        statuses = set(getattr(self.view, "problem_statuses", ()))
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body or (self.method == "GET" and self._has_query_parameters()):
            statuses.add(400)
        if has_body:
            statuses.add(413)
        if self.get_auth():
            statuses.add(401)
        if "{" in self.path:
            statuses.add(404)
        statuses.add(429)
        return statuses

    def _has_query_parameters(self) -> bool:
        return any(getattr(p, "location", None) == "query" for p in self.get_override_parameters())

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        # DRF refuses a NUL in every CharField (PostgreSQL cannot store one): say so in the schema.
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        plain_text = schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema)
        if direction == "request" and isinstance(field, serializers.CharField) and plain_text:
            schema["pattern"] = NO_NUL_PATTERN
        return schema

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        # Every body this API documents is required (a raw JSON Schema body is not marked so).
        body = super()._get_request_body(direction)
        if body is not None:
            body["required"] = True
        return body

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
        for status_code in sorted(self._error_statuses() | declared):
            code = str(status_code)
            problem = self._get_response_for_code(ProblemSerializer, code, [PROBLEM_CONTENT_TYPE], direction)
            existing = responses.get(code, {})
            problem["description"] = existing.get("description") or _DESCRIPTIONS.get(
                status_code, _TITLES.get(status_code, "Error")
            )
            if status_code == 429:
                problem["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}
                }
            responses[code] = problem
        return responses


def _any_case(values: list[str]) -> str:
    """A regex alternation of ``values`` in any letter case (JSON Schema patterns have no flags)."""
    return "|".join("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in value) for value in values)


def case_insensitive_pattern(values: list[str]) -> str:
    """A JSON Schema pattern matching any of ``values`` in any letter case, with surrounding
    spaces as the server trims them."""
    return r"^\s*(" + _any_case(values) + r")\s*$"


def optional_query(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema where an empty value also matches: the API reads ``?name=`` as
    the parameter not given, and the document says so."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def case_insensitive_choice(values: list[str]) -> dict[str, Any]:
    """A query parameter taking any of ``values`` in any letter case (or empty: not given)."""
    return {"type": "string", "pattern": r"^(\s*(" + _any_case(values) + r")\s*)?$"}


UUID_QUERY = optional_query({"type": "string", "format": "uuid"})
DATETIME_QUERY = optional_query({"type": "string", "format": "date-time"})
