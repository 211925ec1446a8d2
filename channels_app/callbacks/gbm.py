"""Google Business Messages: the webhook verification request, then ordinary signed callbacks.

When a webhook is set up Google posts ``{"secret": .., "clientToken": ..}`` and expects the
secret back as plain text. It is echoed only after the request authenticated (a valid
``X-Goog-Signature`` or the account's own client token in the body, see
``GbmAdapter.verify_callback``): echoing any secret would let anyone pass Google's check for a
webhook pointing here.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from channels_app.callbacks.http import accepted
from channels_app.callbacks.processing import authenticate, parse_and_apply
from channels_app.providers.gbm.adapter import verification_secret
from gateway.channels import Channel


def gbm_callback(request: HttpRequest, *, account_id: str) -> HttpResponse:
    verified = authenticate(request, account_id=account_id, channel=Channel.GBM)
    if isinstance(verified, HttpResponse):
        return verified
    secret = verification_secret(verified.callback)
    if secret is not None:
        return accepted(secret)
    return parse_and_apply(
        account=verified.account, parse=lambda: verified.adapter.parse_callback(verified.callback)
    )
