"""Root URLs. The API is served under /api/v1/ and /api/v1.1/ with the same handlers."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts_app.admin_login import throttled_admin_login
from accounts_app.views import CustomerLoginApi
from channels_app.dashboard.views import delivery_dashboard
from gateway.health import healthz, livez, readyz
from gateway.metrics_view import metrics

api_patterns = [
    path("", include("accounts_app.urls")),
    path("", include("channels_app.urls")),
    path("", include("webhooks_app.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    path("api/v1.1/", include(api_patterns)),
    # The Chat API guide prints login without the /api prefix; it is an alias of the one above.
    re_path(r"^v1(?:\.1)?/customers/login$", CustomerLoginApi.as_view(), name="customer-login-guide-alias"),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="gateway.schema_urls"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("callbacks/", include("channels_app.callbacks.urls")),
    path("healthz", healthz, name="healthz"),
    # Before admin.site.urls, whose catch-all would answer 404; admin_view makes it staff-only.
    path("admin/dashboard/", admin.site.admin_view(delivery_dashboard), name="admin-delivery-dashboard"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/login/", throttled_admin_login, name="admin-login"),  # before the admin's own
    path("admin/", admin.site.urls),
]

handler404 = "gateway.problems.not_found_view"
handler500 = "gateway.problems.server_error_view"
