"""The API's paths as the Chat API guide spells them, for the OpenAPI document only.

The served routes (``gateway.urls``) match every spelling: any letter case (paths are lower-cased
first), singular and plural (``/Message/send``, ``/messages/send``), ``/api/v1/`` and
``/api/v1.1/``, and login also without ``/api``. The document lists each operation once, at its
canonical spelling; the aliases are described in the document's introduction, not repeated.
Operator endpoints (health, admin, callbacks, metrics) are not part of the API and are left out.
"""

from django.urls import path

from accounts_app.views import CustomerChangePasswordApi, CustomerLoginApi
from channels_app.statistics_views import StatisticsApi
from channels_app.templates_views import WhatsAppTemplateDetailApi, WhatsAppTemplateListApi
from channels_app.views import BulkProgressApi, MessageBulkSendApi, MessageDetailApi, MessageListApi, MessageSendApi
from webhooks_app.views import (
    WebhookApplyApi,
    WebhookDeliveryListApi,
    WebhookDetailApi,
    WebhookListApi,
    WebhookRedeliverApi,
    WebhookRotateSecretApi,
    WebhookUnapplyApi,
)

V1 = "api/v1/"
WEBHOOK = f"{V1}Webhook/<uuid:webhook_id>"
TEMPLATES = f"{V1}trafficAccounts/<uuid:traffic_account_id>/WhatsAppTemplates"

urlpatterns = [
    path(f"{V1}Customers/login", CustomerLoginApi.as_view()),
    path(f"{V1}Customers/changePassword", CustomerChangePasswordApi.as_view()),
    path(f"{V1}Message/send", MessageSendApi.as_view()),
    path("api/v1.1/Messages/sendbulk", MessageBulkSendApi.as_view()),
    path(f"{V1}Message/<uuid:message_id>", MessageDetailApi.as_view()),
    path(f"{V1}Messages", MessageListApi.as_view()),
    path(f"{V1}Messages/bulk/<uuid:bulk_id>", BulkProgressApi.as_view()),
    path(f"{V1}Webhook", WebhookListApi.as_view()),
    path(WEBHOOK, WebhookDetailApi.as_view()),
    path(f"{WEBHOOK}/rotateSecret", WebhookRotateSecretApi.as_view()),
    path(f"{WEBHOOK}/deliveries", WebhookDeliveryListApi.as_view()),
    path(f"{WEBHOOK}/deliveries/<uuid:delivery_id>/redeliver", WebhookRedeliverApi.as_view()),
    path(f"{V1}WebhookTrafficAccount/ApplyWebhookForTrafficAccount", WebhookApplyApi.as_view()),
    path(f"{V1}WebhookTrafficAccount/DeleteWebhookForTrafficAccount", WebhookUnapplyApi.as_view()),
    path(TEMPLATES, WhatsAppTemplateListApi.as_view()),
    path(f"{TEMPLATES}/<str:name>", WhatsAppTemplateDetailApi.as_view()),
    path(f"{V1}statistics", StatisticsApi.as_view()),
]
