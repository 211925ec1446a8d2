from celery.signals import worker_process_init
from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels_app"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from channels_app.providers import checks  # noqa: F401  (registers the start-up check)
        from channels_app.providers.registry import SPECS
        from gateway.channels import register_credential_keys

        # The accounts app checks credential keys but may not import channels_app: it reads the
        # table the provider packages declare from gateway.channels, filled here (see there).
        register_credential_keys({channel: spec.credential_keys for channel, spec in SPECS.items()})
        # A forked Celery worker child must not share the parent's provider sockets.
        worker_process_init.connect(_fresh_http_pool, dispatch_uid="channels_app.fresh_http_pool")


def _fresh_http_pool(**_: object) -> None:
    from channels_app.providers.http import reset_pooled_session

    reset_pooled_session()
