"""A customer's own data about a message: a ``reference`` string and a few ``metadata`` strings.

Clients tag messages (a campaign, an order number, an A/B split) and expect the tag back in every
lookup and webhook, as Mitto's SMS API does with its ``reference``. Both are bounded, because they
are stored with every message and copied into every webhook: a reference of at most 100
characters, at most 10 metadata keys of at most 40 characters, values of at most 256, strings
only (a nested object would be an unbounded document in disguise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rest_framework import exceptions

MAX_REFERENCE_LENGTH = 100
MAX_METADATA_KEYS = 10
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 256


@dataclass(frozen=True)
class CustomerMetadata:
    reference: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def _reference(value: Any, path: str, errors: dict[str, list[str]]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[path] = ["Must be a string."]
    elif len(value) > MAX_REFERENCE_LENGTH:
        errors[path] = [f"At most {MAX_REFERENCE_LENGTH} characters."]
    elif "\x00" in value:
        errors[path] = ["Must not contain NUL characters."]
    else:
        return value
    return ""


def _metadata(value: Any, path: str, errors: dict[str, list[str]]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors[path] = ["Must be an object of string values."]
        return {}
    if len(value) > MAX_METADATA_KEYS:
        errors[path] = [f"At most {MAX_METADATA_KEYS} keys."]
        return {}
    for key, item in value.items():
        if not key or len(key) > MAX_METADATA_KEY_LENGTH or "\x00" in key:
            errors[f"{path}.{key}"] = [f"Keys are 1 to {MAX_METADATA_KEY_LENGTH} characters, without NUL."]
        elif not isinstance(item, str):
            errors[f"{path}.{key}"] = ["Must be a string."]
        elif len(item) > MAX_METADATA_VALUE_LENGTH or "\x00" in item:
            errors[f"{path}.{key}"] = [f"At most {MAX_METADATA_VALUE_LENGTH} characters, without NUL."]
    return dict(value)


def customer_metadata(payload: Mapping[str, Any]) -> CustomerMetadata:
    """The validated ``reference`` and ``metadata`` of a send or sendbulk request (both optional);
    every bad one is reported at once, each with its path."""
    errors: dict[str, list[str]] = {}
    reference = _reference(payload.get("reference"), "reference", errors)
    metadata = _metadata(payload.get("metadata"), "metadata", errors)
    if errors:
        raise exceptions.ValidationError(errors)
    return CustomerMetadata(reference=reference, metadata=metadata)
