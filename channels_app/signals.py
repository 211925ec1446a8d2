"""Signals the layers above channels_app listen to (customer webhooks), so status changes stay in
one place without channels_app importing them. Receivers run inside the transaction that made the
change, so their outbox rows commit or roll back with it. Failover is not a receiver: the status
transition code calls it directly (``services.transitions``)."""

from django.dispatch import Signal

# kwargs: message (Message), status (str), occurred_at (datetime)
message_status_changed = Signal()
# kwargs: message (the stored inbound Message)
inbound_message_received = Signal()
