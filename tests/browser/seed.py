"""An hour of plausible traffic on three traffic accounts, so the dashboard has something to draw."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone

from accounts_app.models import Customer, TrafficAccount
from channels_app.models import Conversation, Message
from channels_app.status import Status
from tests.factories import TrafficAccountFactory


def _message(account: TrafficAccount, conversation: Conversation, created: datetime, rng: random.Random) -> Message:
    message = Message(
        customer=account.customer,
        traffic_account=account,
        conversation=conversation,
        channel=account.channel,
        direction=Message.OUTBOUND,
        destination=conversation.user_identifier,
        content={"text": "Your order has shipped"},
        status=Status.SENT,
        created_at=created,
        updated_at=created,
        triggered_at=created,
        sent_at=created + timedelta(seconds=rng.uniform(0.2, 2)),
    )
    roll = rng.random()
    if account.channel == "telegram":  # Telegram bots get no receipts: Sent is final
        return message
    if roll < 0.07 or (account.channel == "whatsapp" and roll < 0.12):
        message.status, message.failed_at, message.sent_at = Status.FAILED, message.sent_at, None
        message.error_code = "rejected"
    elif roll < 0.93:
        message.status = Status.DELIVERED
        message.delivered_at = created + timedelta(seconds=rng.lognormvariate(1.2, 0.6))
        if account.channel == "whatsapp" and rng.random() < 0.6:
            message.status, message.read_at = Status.READ, message.delivered_at + timedelta(seconds=rng.uniform(5, 90))
    return message


def seed_last_hour(customer: Customer, *, seed: int = 7) -> list[TrafficAccount]:
    rng = random.Random(seed)
    now = timezone.now()
    accounts = [
        TrafficAccountFactory(customer=customer, channel="sms", name="Order updates (SMS)"),
        TrafficAccountFactory(customer=customer, channel="whatsapp", name="Order updates (WhatsApp)"),
        TrafficAccountFactory(customer=customer, channel="telegram", name="Support bot"),
    ]
    messages: list[Message] = []
    for account, rate in zip(accounts, (6, 4, 2), strict=True):
        conversation = Conversation.objects.create(traffic_account=account, user_identifier="+41751231234")
        for minute in range(58, 1, -1):
            base = now - timedelta(minutes=minute)
            for _ in range(max(0, int(rng.gauss(rate, rate / 3)))):
                messages.append(_message(account, conversation, base + timedelta(seconds=rng.uniform(0, 59)), rng))
    # WhatsApp failures fail over to SMS, as a chain with a timeout failover would.
    sms, sms_conversation = accounts[0], Conversation.objects.get(traffic_account=accounts[0])
    for failed in [m for m in messages if m.channel == "whatsapp" and m.status == Status.FAILED]:
        failed.failover_chain_id, failed.failover_position = failed.id, 0
        hop = _message(sms, sms_conversation, failed.failed_at, rng)
        hop.failover_chain_id, hop.failover_position = failed.id, 1
        hop.created_at = failed.created_at  # every hop is created at accept time, triggered later
        messages.append(hop)
    Message.objects.bulk_create(messages)
    return accounts
