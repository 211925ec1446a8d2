"""factory_boy factories for the gateway's models."""

from __future__ import annotations

import uuid

import factory
from django.utils import timezone

from accounts_app.models import Customer, TrafficAccount
from channels_app.models import Conversation, Message
from channels_app.status import Status

DEFAULT_PASSWORD = "correct-horse-battery"

DEFAULT_CREDENTIALS = {
    "sms": {"api_key": "mitto-key"},
    "whatsapp": {
        "access_token": "wa-token",
        "phone_number_id": "1234567890",
        "waba_id": "waba-1",
        "app_secret": "wa-app-secret",
        "verify_token": "wa-verify",
    },
    "viber": {"auth_token": "viber-token"},
    "gbm": {"access_token": "gbm-token", "client_token": "gbm-client-token"},
    "telegram": {"bot_token": "123456:telegram-token", "secret_token": "tg-secret"},
}


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    email = factory.LazyFunction(lambda: f"customer-{uuid.uuid4().hex[:12]}@example.com")
    name = factory.Faker("company")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TrafficAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrafficAccount

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Traffic account {n}")
    channel = "sms"
    credentials = factory.LazyAttribute(lambda o: dict(DEFAULT_CREDENTIALS[o.channel]))
    sender = "Gateway"
    display_name = "Gateway Demo"
    base_url = "https://provider.test"
    is_active = True


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation
        django_get_or_create = ("traffic_account", "user_identifier")

    traffic_account = factory.SubFactory(TrafficAccountFactory)
    user_identifier = "+41751231234"


class MessageFactory(factory.django.DjangoModelFactory):
    """An outbound message accepted now; pass ``status`` and the matching timestamps."""

    class Meta:
        model = Message

    traffic_account = factory.SubFactory(TrafficAccountFactory)
    customer = factory.LazyAttribute(lambda o: o.traffic_account.customer)
    conversation = factory.LazyAttribute(
        lambda o: ConversationFactory(traffic_account=o.traffic_account, user_identifier=o.destination)
    )
    channel = factory.LazyAttribute(lambda o: o.traffic_account.channel)
    direction = Message.OUTBOUND
    destination = "+41751231234"
    content = factory.LazyFunction(lambda: {"text": "Hello"})
    status = Status.READY
    created_at = factory.LazyFunction(timezone.now)
    triggered_at = factory.LazyAttribute(lambda o: o.created_at)
