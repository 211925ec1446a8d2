"""How the OpenAPI document describes the Chat API's Bearer JWTs (drf-spectacular extension).

Without it drf-spectacular cannot tell what JWTAuthentication expects, leaves the operations
without a security requirement and prints a warning per view on every schema request."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts_app.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
