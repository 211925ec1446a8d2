from django.urls import path

from accounts_app.views import CustomerChangePasswordApi, CustomerLoginApi

urlpatterns = [
    path("customers/login", CustomerLoginApi.as_view(), name="customer-login"),
    path("customers/changepassword", CustomerChangePasswordApi.as_view(), name="customer-change-password"),
]
