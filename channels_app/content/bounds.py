"""Bounds on free-form objects: the parts of a request passed through to a provider unchecked.

A Viber ``keyboard`` and WhatsApp template ``components`` are the provider's own structures, so
the gateway checks their outline and passes the rest through. Without bounds, one request could
store an object nested hundreds of levels deep, and every later step that walks it (the
attempt log's redaction, JSON encoding) would pay for it on each retry, or fail. So every
free-form object is bounded when it is accepted: depth, members per object or array, and its
size as JSON; and no string in it may hold a NUL character (PostgreSQL's jsonb cannot store
one, so the insert would fail with a 500). The walk is iterative, so the check itself cannot
exhaust the stack, and the error names the path where a bound was crossed (``viber.keyboard.Buttons[0].Frame...``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ErrorDetail, ValidationError

# Viber's richest keyboard is four levels deep and a WhatsApp template's components five;
# twelve leaves room for what providers add without letting anything pathological in.
MAX_DEPTH = 12
# Members of one object or items of one array (a Viber keyboard holds at most 24 buttons).
MAX_MEMBERS = 100
# The whole object encoded as compact JSON.
MAX_SERIALIZED_BYTES = 32 * 1024

Path = tuple[str | int, ...]


def _error_at(path: Path, message: str, code: str) -> ValidationError:
    """A ValidationError whose detail nests ``message`` at ``path`` the way the problem handler
    reads it: dicts by key, lists by index with ``{}`` for the items before."""
    detail: Any = [ErrorDetail(message, code=code)]
    for segment in reversed(path):
        detail = [{}] * segment + [detail] if isinstance(segment, int) else {segment: detail}
    return ValidationError(detail)


def bounded_json(
    value: Any,
    *,
    max_depth: int = MAX_DEPTH,
    max_members: int = MAX_MEMBERS,
    max_bytes: int = MAX_SERIALIZED_BYTES,
) -> None:
    """Raise ``ValidationError`` (nested at the offending path) unless ``value`` stays within
    the bounds. The value itself counts as depth 1."""
    pending: list[tuple[Any, Path, int]] = [(value, (), 1)]
    # Every member takes at least two bytes of JSON, so a walk longer than this is over the
    # size bound anyway: stop it before it costs more than encoding would.
    budget = max_bytes // 2
    while pending:
        node, path, depth = pending.pop()
        budget -= 1
        if budget < 0:
            raise _error_at((), f"Larger than {max_bytes} bytes as JSON.", "max_size")
        if isinstance(node, str):
            if "\x00" in node:
                raise _error_at(path, "Null characters are not allowed.", "null_characters_not_allowed")
            continue
        if isinstance(node, Mapping):
            children: list[tuple[Any, Any]] = [(str(key), child) for key, child in node.items()]
            for key, _ in children:
                if "\x00" in key:
                    raise _error_at(path, "Null characters are not allowed in keys.", "null_characters_not_allowed")
        elif isinstance(node, list):
            children = list(enumerate(node))
        else:
            continue
        if depth > max_depth:
            raise _error_at(path, f"Nested deeper than {max_depth} levels.", "max_depth")
        if len(children) > max_members:
            raise _error_at(path, f"Holds more than {max_members} members.", "max_members")
        pending.extend((child, (*path, key), depth + 1) for key, child in children)
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > max_bytes:
        raise _error_at((), f"Larger than {max_bytes} bytes as JSON ({size}).", "max_size")
