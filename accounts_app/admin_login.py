"""The Django admin's login with the same password-guessing limits as the API login.

An operator account opens every customer's data, so its login must not be the one place where
guesses run unthrottled. The admin's own view does the work; this only counts the attempt first.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from accounts_app.login_throttle import LoginThrottled, attempt_reserve
from accounts_app.services import THROTTLED
from gateway.problems import problem_response


def throttled_admin_login(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return admin.site.login(request)
    try:
        attempt = attempt_reserve(request=request, account=request.POST.get("username", ""))
    except LoginThrottled as exc:
        response: HttpResponse = problem_response(429, THROTTLED, "too-many-requests", retryAfter=exc.retry_after)
        response["Retry-After"] = str(exc.retry_after)
        return response
    response = admin.site.login(request)
    if getattr(request, "user", None) is not None and request.user.is_authenticated and response.status_code == 302:
        attempt.succeeded()
    return response
