"""NUL characters in request data.

PostgreSQL stores neither a NUL in text nor ``\\u0000`` in jsonb: free-form JSON that reaches a
table (channel content, template components) is checked for them first, so a NUL is a 400 with
its field's path rather than a database error.
"""

from __future__ import annotations

from typing import Any


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False
