"""NUL characters in request data.

PostgreSQL stores neither a NUL in text nor ``\\u0000`` in jsonb: free-form JSON that reaches a
table (channel content, template components) is checked for them first, so a NUL is a 400 with
its field's path rather than a database error.
"""

from __future__ import annotations

from typing import Any


def contains_nul(value: Any) -> bool:
    """Whether any string (or key) in ``value`` holds a NUL. Iterative: request data may nest
    deeper than Python's recursion limit before the bounds check has refused it."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
