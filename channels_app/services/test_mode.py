"""Test mode for every channel: a message accepted with ``"test": true`` (Mitto's own request
flag, offered on every channel) or through a traffic account in test mode never reaches its
provider. Dispatch answers for the provider instead, and the message walks the statuses the
provider (and the sandbox) would report: ``Sent``, then ``Delivered`` on channels that report
delivery, ``Sent`` alone on Telegram, whose bots get no receipts. Webhooks, failover and
statistics see those statuses exactly as they would see real ones, which is what a team testing
its integration needs; the history marks them ``test``.
"""

from __future__ import annotations

from channels_app.capabilities import can_reach
from channels_app.models import Message
from channels_app.providers.base import SendResult
from channels_app.services.transitions import message_transition
from channels_app.status import Status

TEST_PROVIDER_ID_PREFIX = "test-"
TEST_SOURCE = "test"


def is_simulated(message: Message) -> bool:
    """Whether dispatch must answer for the provider (the account may have entered test mode
    after the message was accepted: its current setting counts too)."""
    return message.is_test or message.traffic_account.test_mode


def simulated_send(message: Message) -> SendResult:
    """The provider's acceptance, without the provider."""
    return SendResult(provider_message_id=f"{TEST_PROVIDER_ID_PREFIX}{message.id.hex}")


def simulated_reports_apply(messages: list[Message]) -> None:
    """The delivery report each simulated message's provider would send, once it is ``Sent``."""
    for message in messages:
        if can_reach(message.channel, Status.DELIVERED):
            message_transition(
                message=message, status=Status.DELIVERED, source=TEST_SOURCE, detail={"test": True},
            )
