from django.apps import AppConfig


class AccountsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts_app"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the signal receivers that drop cached copies of changed accounts.
        from accounts_app import cache  # noqa: F401
