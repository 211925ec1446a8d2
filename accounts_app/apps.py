from django.apps import AppConfig


class AccountsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts_app"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # cache: the signal receivers that drop cached copies of changed accounts; schema: how
        # the OpenAPI document describes the Bearer JWTs. Both register themselves on import.
        from accounts_app import cache, schema  # noqa: F401
