"""Routes for WhatsApp templates per traffic account and for statistics.

Paths arrive lower-cased (gateway.middleware), so ``trafficAccounts/{id}/WhatsAppTemplates``
is matched as ``trafficaccounts/{id}/whatsapptemplates``; template names are lower case by
Meta's rule, so lower-casing loses nothing. Ids are matched loosely and checked by the service,
so a malformed id answers the same 404 problem as an unknown one.
"""

from django.urls import re_path

from channels_app.statistics_views import StatisticsApi
from channels_app.templates_views import WhatsAppTemplateDetailApi, WhatsAppTemplateListApi

ACCOUNT = r"trafficaccounts?/(?P<traffic_account_id>[^/]+)/whatsapptemplates?"

urlpatterns = [
    re_path(rf"^{ACCOUNT}$", WhatsAppTemplateListApi.as_view(), name="whatsapp-template-list"),
    re_path(rf"^{ACCOUNT}/(?P<name>[^/]+)$", WhatsAppTemplateDetailApi.as_view(), name="whatsapp-template-detail"),
    re_path(r"^statistics$", StatisticsApi.as_view(), name="statistics"),
]
