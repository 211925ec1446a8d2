"""The last look at a claimed message right before its provider call.

A claim is taken for a whole chunk, and the chunk's messages are sent one after another, so a
claim can be seconds old when its message's turn comes. Two things may have changed meanwhile:

* a delivery report arrived for an earlier attempt that timed out but reached the provider (it
  names our id, so it moves the claimed message on): sending again would duplicate it. Every
  retry is therefore read again right before its send (one primary-key read; retries are rare).
* its traffic account or customer was deactivated: the kill switch must hold mid-chunk. The
  account is read again at most once per ``RECHECK_AFTER_SECONDS`` of a chunk's sending, so a
  first attempt sent right after its claim costs nothing.
"""

from __future__ import annotations

import logging
import time
import uuid

from channels_app import queries
from channels_app.models import Message
from channels_app.services.transitions import message_transition
from channels_app.status import Status

logger = logging.getLogger(__name__)

RECHECK_AFTER_SECONDS = 1.0


class SendGuard:
    """Decides, message by message within one account's group of a chunk, whether to send."""

    def __init__(self, traffic_account_id: uuid.UUID) -> None:
        self.traffic_account_id = traffic_account_id
        self.checked_at = time.monotonic()
        self.active = True

    def allows(self, message: Message) -> bool:
        if message.attempts > 1:
            return claim_still_sendable(message)
        if time.monotonic() - self.checked_at > RECHECK_AFTER_SECONDS:
            self.active = queries.account_and_customer_are_active(self.traffic_account_id)
            self.checked_at = time.monotonic()
        if not self.active:
            _release(message)
        return self.active


def _release(message: Message) -> None:
    """Back to Ready, where the claim never takes it and the cancellation finds it."""
    queries.claim_release(message.id)


def claim_still_sendable(message: Message) -> bool:
    """Whether the message is still ours to send; if not, the claim is given up here."""
    row = queries.claim_state(message.id)
    if row is None:
        return False
    status, provider_message_id, active = row
    if status == Status.SENDING and not provider_message_id and active:
        return True
    if status != Status.SENDING:
        # A report moved it on (or an operator did): the provider has it, nothing to send.
        logger.info("message %s is %s before its attempt %d: not sent again", message.id, status, message.attempts)
        queries.claim_forget(message.id)
        return False
    if provider_message_id:
        message_transition(
            message=message, status=Status.SENT, source="dispatch", from_statuses=[Status.SENDING],
            detail={"reason": "provider id known from an earlier attempt"}, extra_fields={"claimed_at": None},
        )
        return False
    _release(message)  # deactivated
    return False
