"""Provider callback views: plain, CSRF-exempt Django views rather than DRF ones, because
providers authenticate with signatures over the raw body, which a parser would consume first.
Each view only picks the handler; the handlers live in one module per concern."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_app.callbacks.addresses import ACCOUNT_QUERY_PARAMETER
from channels_app.callbacks.gbm import gbm_callback
from channels_app.callbacks.mitto_sms import mitto_bulk_dlr, mitto_dlr, mitto_inbound
from channels_app.callbacks.processing import signed_callback
from channels_app.callbacks.whatsapp import whatsapp_subscription
from gateway.channels import Channel


@csrf_exempt
@require_http_methods(["GET", "POST"])
def sms_dlr(request: HttpRequest) -> HttpResponse:
    return mitto_dlr(request)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def sms_dlr_bulk(request: HttpRequest) -> HttpResponse:
    return mitto_bulk_dlr(request)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def sms_inbound(request: HttpRequest) -> HttpResponse:
    return mitto_inbound(request)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp(request: HttpRequest, account_id: str) -> HttpResponse:
    if request.method == "GET":
        return whatsapp_subscription(request, account_id=account_id)
    return signed_callback(request, account_id=account_id, channel=Channel.WHATSAPP)


@csrf_exempt
@require_http_methods(["POST"])
def viber(request: HttpRequest) -> HttpResponse:
    return signed_callback(request, account_id=request.GET.get(ACCOUNT_QUERY_PARAMETER), channel=Channel.VIBER)


@csrf_exempt
@require_http_methods(["POST"])
def telegram(request: HttpRequest) -> HttpResponse:
    return signed_callback(request, account_id=request.GET.get(ACCOUNT_QUERY_PARAMETER), channel=Channel.TELEGRAM)


@csrf_exempt
@require_http_methods(["POST"])
def gbm(request: HttpRequest, account_id: str) -> HttpResponse:
    return gbm_callback(request, account_id=account_id)
