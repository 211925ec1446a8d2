"""Conversations open in one statement: created on first contact, found afterwards, once per user."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from channels_app.models import Conversation, Participant
from channels_app.services.conversations import conversation_open
from tests.factories import TrafficAccountFactory


@pytest.mark.django_db
def test_first_contact_creates_the_conversation_with_agent_and_user():
    account = TrafficAccountFactory(channel="sms", display_name="Brand", phone_number="+41790000001")

    opened = conversation_open(account=account, user="+41751231234", user_name="Ann")

    stored = Conversation.objects.get(traffic_account=account, user_identifier="+41751231234")
    assert opened.conversation.id == stored.id
    rows = list(stored.participants.order_by("role").values_list("id", "role", "name", "phone_number"))
    assert rows == [(p.id, p.role, p.name, p.phone_number) for p in opened.participants]
    assert [p.role for p in opened.participants] == [Participant.AGENT, Participant.USER]
    assert rows[1][2:] == ("Ann", "+41751231234")


@pytest.mark.django_db
def test_a_later_contact_finds_the_same_conversation_and_its_participants():
    account = TrafficAccountFactory(channel="sms")
    first = conversation_open(account=account, user="+41751231234")

    again = conversation_open(account=account, user="+41751231234")

    assert again.conversation.id == first.conversation.id
    assert [(p.id, p.role) for p in again.participants] == [(p.id, p.role) for p in first.participants]
    assert again.conversation.created_at is not None
    assert Conversation.objects.count() == 1 and Participant.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_first_contacts_share_one_conversation():
    account = TrafficAccountFactory(channel="sms")
    inside = threading.Event()
    release = threading.Event()
    results = {}

    def first_contact() -> None:
        try:
            with transaction.atomic():
                results["first"] = conversation_open(account=account, user="+41751231234").conversation.id
                inside.set()
                release.wait(5)  # hold the uncommitted conversation while the second one starts
        finally:
            connection.close()

    def second_contact() -> None:
        try:
            inside.wait(5)
            threading.Timer(0.3, release.set).start()  # lets the first commit while we wait on its row
            results["second"] = conversation_open(account=account, user="+41751231234").conversation.id
        finally:
            connection.close()

    threads = [threading.Thread(target=first_contact), threading.Thread(target=second_contact)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert results["first"] == results["second"]
    assert Conversation.objects.count() == 1
    assert Participant.objects.count() == 2
