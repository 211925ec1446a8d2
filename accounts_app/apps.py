from django.apps import AppConfig


class AccountsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts_app"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # The signal receivers that drop cached copies of changed accounts register on import.
        # (How the OpenAPI document describes the Bearer JWTs lives in gateway/openapi.py.)
        from accounts_app import cache  # noqa: F401
