from __future__ import annotations

import pytest

from bench.accounting import message_accounting
from bench.calibration import calibrate
from channels_app.status import Status
from tests.factories import MessageFactory, TrafficAccountFactory


@pytest.mark.django_db
def test_accounting_counts_final_pending_and_missing_messages_of_the_customer() -> None:
    account = TrafficAccountFactory(channel="sms")
    for n, status in enumerate([Status.DELIVERED, Status.DELIVERED, Status.FAILED, Status.SENT, Status.READY]):
        MessageFactory(traffic_account=account, destination=f"+4175123400{n}", status=status)
    MessageFactory(destination="+41751239999", status=Status.READY)  # another customer's

    accounting = message_accounting(account.customer_id, accepted=6)

    assert (accounting["stored"], accounting["final"], accounting["pending"]) == (5, 3, 2)
    assert accounting["missing"] == 1


def test_calibration_times_the_same_work_every_time() -> None:
    first, second = calibrate(repeats=1), calibrate(repeats=1)

    assert first > 0 and second > 0
    assert max(first, second) / min(first, second) < 10
