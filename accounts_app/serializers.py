from __future__ import annotations

from rest_framework import serializers


class LoginRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=512, trim_whitespace=False)


class LoginResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiresAt = serializers.DateTimeField()


class ChangePasswordRequestSerializer(serializers.Serializer):
    currentPassword = serializers.CharField(max_length=512, trim_whitespace=False)
    newPassword = serializers.CharField(max_length=512, trim_whitespace=False)
