"""Signals other parts listen to, so status changes stay in one place while failover and
customer webhooks react to them (both receivers run inside the transaction that made the change,
so their outbox rows commit or roll back with it)."""

from django.dispatch import Signal

# kwargs: message (Message), status (str), occurred_at (datetime)
message_status_changed = Signal()
# kwargs: message (the stored inbound Message)
inbound_message_received = Signal()
