"""Message routes. Paths arrive lower-cased (see gateway.middleware); singular and plural
spellings from the Chat API docs are both served."""

from django.urls import re_path

from channels_app.templates_urls import urlpatterns as templates_urlpatterns
from channels_app.views import BulkProgressApi, MessageBulkSendApi, MessageDetailApi, MessageListApi, MessageSendApi

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    re_path(r"^messages?/send$", MessageSendApi.as_view(), name="message-send"),
    re_path(r"^messages?/sendbulk$", MessageBulkSendApi.as_view(), name="message-sendbulk"),
    re_path(rf"^messages?/bulk/(?P<bulk_id>{UUID})$", BulkProgressApi.as_view(), name="bulk-progress"),
    re_path(rf"^messages?/(?P<message_id>{UUID})$", MessageDetailApi.as_view(), name="message-detail"),
    re_path(r"^messages?$", MessageListApi.as_view(), name="message-list"),
]

urlpatterns += templates_urlpatterns
