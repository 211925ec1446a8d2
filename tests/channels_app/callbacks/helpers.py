"""Shared pieces of the callback tests: provider fixtures as raw bytes, provider-side signing,
sent messages to report on, and the row counts that prove a rejected callback wrote nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

from accounts_app.models import TrafficAccount
from channels_app.models import Message, MessageEvent
from channels_app.services.conversations import conversation_get_or_create
from channels_app.status import Status
from tests.factories import DEFAULT_CREDENTIALS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "callbacks"


def fixture_bytes(channel: str, name: str) -> bytes:
    """A provider payload exactly as it goes over the wire (signatures cover these bytes)."""
    return (FIXTURES / channel / f"{name}.json").read_bytes()


def fixture_json(channel: str, name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(channel, name))


def one_byte_changed(body: bytes, marker: bytes) -> bytes:
    """``body`` with one character inside ``marker`` altered, still valid JSON, so only the
    signature can tell the difference."""
    index = body.index(marker)
    original = body[index : index + 1]
    replacement = original.swapcase() if original.isalpha() else bytes([ord("0") + (int(original) + 1) % 10])
    changed = body[:index] + replacement + body[index + 1 :]
    assert changed != body and len(changed) == len(body)
    return changed


def whatsapp_signature(body: bytes, secret: str = DEFAULT_CREDENTIALS["whatsapp"]["app_secret"]) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def viber_signature(body: bytes, token: str = DEFAULT_CREDENTIALS["viber"]["auth_token"]) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def gbm_signature(body: bytes, client_token: str = DEFAULT_CREDENTIALS["gbm"]["client_token"]) -> str:
    return base64.b64encode(hmac.new(client_token.encode(), body, hashlib.sha512).digest()).decode()


def sent_message(
    account: TrafficAccount,
    *,
    destination: str,
    message_id: uuid.UUID | str | None = None,
    provider_message_id: str = "",
    status: str = Status.SENT,
) -> Message:
    """An outbound message as dispatch leaves it once the provider accepted it."""
    conversation = conversation_get_or_create(account=account, user=destination)
    return Message.objects.create(
        id=uuid.UUID(str(message_id)) if message_id else uuid.uuid4(),
        customer=account.customer,
        traffic_account=account,
        conversation=conversation,
        channel=account.channel,
        direction=Message.OUTBOUND,
        destination=destination,
        content={"text": "Your order is on its way"},
        status=status,
        provider_message_id=provider_message_id,
    )


def row_counts() -> tuple[int, int]:
    return Message.objects.count(), MessageEvent.objects.count()


def statuses(message: Message) -> list[str]:
    return list(MessageEvent.objects.filter(message=message).values_list("status", flat=True))
