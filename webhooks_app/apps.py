from django.apps import AppConfig


class WebhooksAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks_app"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        """Listen to message events so each one fans out to the customer's webhooks."""
        from channels_app.signals import inbound_message_received, message_status_changed
        from webhooks_app.services import fanout

        message_status_changed.connect(fanout.on_message_status_changed, dispatch_uid="webhooks.fanout.status")
        inbound_message_received.connect(fanout.on_inbound_message_received, dispatch_uid="webhooks.fanout.inbound")
