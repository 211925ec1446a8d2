"""Webhook routes, spelled as the Chat API documents them (``/Webhook``, ``/WebhookTrafficAccount``).
Paths arrive lower-cased (see gateway.middleware), so the patterns are lower case."""

from django.urls import re_path

from webhooks_app.views import (
    WebhookApplyApi,
    WebhookDeliveryListApi,
    WebhookDetailApi,
    WebhookListApi,
    WebhookRedeliverApi,
    WebhookRotateSecretApi,
    WebhookUnapplyApi,
)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
WEBHOOK = rf"^webhook/(?P<webhook_id>{UUID})"

urlpatterns = [
    re_path(r"^webhook$", WebhookListApi.as_view(), name="webhook-list"),
    re_path(rf"{WEBHOOK}$", WebhookDetailApi.as_view(), name="webhook-detail"),
    re_path(rf"{WEBHOOK}/rotatesecret$", WebhookRotateSecretApi.as_view(), name="webhook-rotate-secret"),
    re_path(rf"{WEBHOOK}/deliveries$", WebhookDeliveryListApi.as_view(), name="webhook-deliveries"),
    re_path(
        rf"{WEBHOOK}/deliveries/(?P<delivery_id>{UUID})/redeliver$",
        WebhookRedeliverApi.as_view(),
        name="webhook-redeliver",
    ),
    re_path(
        r"^webhooktrafficaccount/applywebhookfortrafficaccount$", WebhookApplyApi.as_view(), name="webhook-apply"
    ),
    re_path(
        r"^webhooktrafficaccount/deletewebhookfortrafficaccount$",
        WebhookUnapplyApi.as_view(),
        name="webhook-unapply",
    ),
]
