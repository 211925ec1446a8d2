"""COPY rows of a bulk's messages and of their first history events.

Everything but a message's id, destination, conversation and chain is the same for every message
of one hop, so each hop is described by one template instance built the way a single send builds
its hops (``_new_hop``, ``_first_event``); a row adds the per-destination values to the template's
rendered tail. Ids are text: they come from ``uuid4_texts`` and from the database as text, and go
out in the response and the dispatch tasks as text.
"""

from __future__ import annotations

from collections.abc import Iterator

from channels_app.models import Message, MessageEvent
from channels_app.services.copy_insert import NULL, copy_escape, row_layout

MESSAGE_LEADING = ["id", "destination", "conversation_id", "failover_chain_id"]
EVENT_LEADING = ["message_id"]


def message_rows(
    template: Message,
    *,
    ids: list[str],
    destinations: list[str],
    conversations: dict[str, str],
    chain_ids: list[str] | None,
) -> tuple[list[str], Iterator[str]]:
    """COPY columns and lines of one hop's messages, one per destination.

    ``conversations`` maps each destination to its conversation id; ``chain_ids`` are the first
    hops' ids (each chain is named after its first message), None without failover.
    """
    columns, tail = row_layout(template, MESSAGE_LEADING)
    chains = chain_ids if chain_ids is not None else [NULL] * len(ids)

    def lines() -> Iterator[str]:
        for message_id, destination, chain_id in zip(ids, destinations, chains, strict=True):
            yield f"{message_id}\t{copy_escape(destination)}\t{conversations[destination]}\t{chain_id}{tail}"

    return columns, lines()


def event_rows(template: MessageEvent, *, message_ids: list[str]) -> tuple[list[str], Iterator[str]]:
    """COPY columns and lines of the first history event of each message in ``message_ids``."""
    columns, tail = row_layout(template, EVENT_LEADING)
    return columns, (f"{message_id}{tail}" for message_id in message_ids)
