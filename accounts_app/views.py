"""Chat API customer endpoints: login and password change."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_app.authentication import CustomerRequest
from accounts_app.serializers import (
    ChangePasswordRequestSerializer,
    LoginRequestSerializer,
    LoginResponseSerializer,
)
from accounts_app.services import customer_change_password, customer_login


class CustomerLoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    problem_statuses = (401,)  # wrong credentials (documented by gateway.openapi)

    def get_authenticate_header(self, request: Request) -> str:
        # Bad credentials are a 401 (DRF would turn it into 403 on a view without authenticators).
        return 'Bearer realm="api"'

    @extend_schema(
        tags=["Customers"],
        summary="Log in and get a one-hour JWT",
        request=LoginRequestSerializer,
        responses={200: LoginResponseSerializer},
        examples=[OpenApiExample("Login", value={"email": "ops@example.com", "password": "s3cret-pass"})],
    )
    def post(self, request: Request) -> Response:
        data = LoginRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = customer_login(
            request=request, email=data.validated_data["email"], password=data.validated_data["password"]
        )
        return Response({"token": issued.token, "expiresAt": issued.expires_at.isoformat().replace("+00:00", "Z")})


class CustomerChangePasswordApi(APIView):
    @extend_schema(
        tags=["Customers"],
        summary="Change the password; every token issued before stops working",
        request=ChangePasswordRequestSerializer,
        responses={204: None},
    )
    def post(self, request: CustomerRequest) -> Response:
        data = ChangePasswordRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer_change_password(
            request=request,
            customer=request.user,
            current_password=data.validated_data["currentPassword"],
            new_password=data.validated_data["newPassword"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
