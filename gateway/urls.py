"""Root URLs. The API is served under /api/v1/ and /api/v1.1/ with the same handlers."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts_app.views import CustomerLoginApi
from gateway.health import healthz

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
    path("callbacks/", include("webhooks_app.callback_urls")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

handler404 = "gateway.problems.not_found_view"
handler500 = "gateway.problems.server_error_view"
