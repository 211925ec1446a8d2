from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels_app"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Connects the failover receiver to message_status_changed.
        from channels_app.services import failover  # noqa: F401
