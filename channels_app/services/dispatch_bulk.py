"""Grouping a chunk's messages into provider calls that carry several of them (Mitto ``/smsbulk``).

A sendbulk puts one text to many numbers, and dispatch chunks hold messages of one account: one
provider call per group of messages that only differ by destination saves a round trip, a
request and an answer per message. Only adapters with ``sends_in_bulk`` are grouped, only
messages the provider really receives (not test mode), and a group holds at most
``MITTO_BULK_MAX_DESTINATIONS`` messages. Everything else still goes one by one.

The group's report URL carries an account-wide token (purpose ``dlr_bulk``): one URL serves every
destination, and the reports are matched by the provider ids the call answered
(``channels_app.callbacks.mitto_sms``).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from typing import TypeVar

from django.conf import settings

from channels_app.callbacks.tokens import callback_url_with_token, issue_callback_token
from channels_app.models import Message
from channels_app.providers.base import OutboundMessage, SendError, SendResult
from channels_app.providers.registry import ADAPTERS
from channels_app.services.test_mode import is_simulated

Slot = TypeVar("Slot")


def bulk_key(message: Message) -> Hashable | None:
    """What messages must share to go in one call (account, the whole content: text, sender and
    options), or ``None`` for a message that goes alone."""
    adapter = ADAPTERS.get(message.channel)
    if adapter is None or not adapter.sends_in_bulk or is_simulated(message):
        return None
    return message.traffic_account_id, json.dumps(message.content, sort_keys=True, default=str)


def send_units(items: Sequence[tuple[Message, Slot]], max_size: int) -> list[list[tuple[Message, Slot]]]:
    """``items`` (message and its rate slot) as provider calls, in the order of each call's first
    message: messages with the same ``bulk_key`` together, at most ``max_size`` a call."""
    units: list[list[tuple[Message, Slot]]] = []
    open_unit: dict[Hashable, int] = {}
    for item in items:
        key = bulk_key(item[0]) if max_size > 1 else None
        if key is None:
            units.append([item])
            continue
        index = open_unit.get(key)
        if index is None or len(units[index]) >= max_size:
            index = open_unit[key] = len(units)
            units.append([])
        units[index].append(item)
    return units


def bulk_callback_url(message: Message) -> str:
    """The report URL of a call for ``message``'s account: its token names the account."""
    account = message.traffic_account
    token = issue_callback_token(
        subject=str(account.id), purpose="dlr_bulk", generation=account.callback_token_generation
    )
    return callback_url_with_token(f"{settings.PUBLIC_BASE_URL}/callbacks/sms/dlr-bulk", token)


def messages_send_bulk(messages: Sequence[Message]) -> list[SendResult | SendError]:
    """One provider call for ``messages`` (one account, one ``bulk_key``): each message's
    result or error, in order."""
    from channels_app.providers.accounts import provider_account
    from channels_app.providers.registry import adapter_for

    adapter = adapter_for(provider_account(messages[0].traffic_account))
    outbound = [OutboundMessage(id=m.id, destination=m.destination, content=m.content) for m in messages]
    return adapter.send_many(outbound, callback_url=bulk_callback_url(messages[0]))
