"""Turns a nested DRF error detail into ``{"json.path[0].field": [messages]}`` for assertions."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.exceptions import ValidationError

from channels_app.content import validate_content


def flatten(detail: Any, path: str = "") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            found.update(flatten(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(detail, list) and all(isinstance(item, str) for item in detail):
        if detail:
            found[path] = [str(item) for item in detail]
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            found.update(flatten(item, f"{path}[{index}]"))
    else:
        found[path] = [str(detail)]
    return found


def errors_of(channel: str, data: Any) -> dict[str, list[str]]:
    """The flattened errors of an invalid channel object; fails the test if it validates."""
    with pytest.raises(ValidationError) as raised:
        validate_content(channel, data)
    return flatten(raised.value.detail)
