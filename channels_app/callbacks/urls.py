"""Provider callback URLs, served under ``/callbacks/`` (namespace ``callbacks``).

Account ids are matched as plain strings and checked by the views, so a malformed id gets the
same 404 as an unknown one.
"""

from django.urls import path

from channels_app.callbacks import views

app_name = "callbacks"

urlpatterns = [
    path("sms/dlr", views.sms_dlr, name="sms-dlr"),
    path("sms/dlr-bulk", views.sms_dlr_bulk, name="sms-dlr-bulk"),
    path("sms/inbound", views.sms_inbound, name="sms-inbound"),
    path("whatsapp/<str:account_id>", views.whatsapp, name="whatsapp"),
    path("viber", views.viber, name="viber"),
    path("telegram", views.telegram, name="telegram"),
    path("gbm/<str:account_id>", views.gbm, name="gbm"),
]
