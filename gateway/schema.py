"""drf-spectacular's AutoSchema with operation ids a view can name.

Two GET views on one resource (a list by query string next to a detail by path, or a list next
to a detail that answers an array) both get the same generated id, which drf-spectacular then
numbers with a warning on every schema request. A view's ``schema_action`` replaces the last
part of its generated id instead ("list", "retrieve")."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema


class GatewayAutoSchema(AutoSchema):
    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        action = getattr(self.view, "schema_action", None)
        if action is None or self.method.upper() != "GET":
            return operation_id
        return f"{operation_id.rsplit('_', 1)[0]}_{action}"
