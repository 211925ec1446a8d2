"""WhatsApp Cloud API's subscription handshake (the GET on the webhook URL).

Meta sends ``hub.mode=subscribe``, the verify token configured in the app dashboard and a
challenge; echoing the challenge as plain text confirms the URL. Signed event POSTs on the same
path go through ``processing.signed_callback`` like every other provider.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from channels_app.callbacks.accounts import callback_account
from channels_app.callbacks.http import accepted, not_found, rejected
from channels_app.callbacks.processing import log_rejection
from channels_app.providers.accounts import provider_account
from channels_app.providers.base import CallbackRejected
from channels_app.providers.whatsapp.adapter import WhatsAppAdapter
from gateway.channels import Channel


def whatsapp_subscription(request: HttpRequest, *, account_id: str) -> HttpResponse:
    account = callback_account(account_id, channel=Channel.WHATSAPP)
    if account is None or not account.is_active:
        return not_found()
    try:
        challenge = WhatsAppAdapter(provider_account(account)).verify_subscription(request.GET.dict())
    except CallbackRejected as error:
        log_rejection(Channel.WHATSAPP, error, account.id)
        return rejected(error)
    return accepted(challenge)
