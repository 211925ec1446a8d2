"""Every complete request example of the ChatApps guide is accepted, content and destination."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channels_app.content import normalise_destination, validate_content

SEED_REQUESTS = Path(__file__).parents[2] / "fixtures" / "seed_requests"
# The guide spells the WhatsApp key both ways; callers map both to the channel.
CHANNEL_KEYS = {
    "sms": "sms",
    "whatsapp": "whatsapp",
    "whatsApp": "whatsapp",
    "viber": "viber",
    "gbm": "gbm",
    "telegram": "telegram",
}


def seed_requests() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(SEED_REQUESTS.glob("*.json")):
        yield path.stem, json.loads(path.read_text())


def channel_objects() -> Iterator[Any]:
    for name, request in seed_requests():
        for key, channel in CHANNEL_KEYS.items():
            # The bulk example's `"viber": {}` and friends are placeholders, not content.
            if request.get(key):
                yield pytest.param(channel, request[key], id=f"{name}-{key}")


def destinations() -> Iterator[Any]:
    for name, request in seed_requests():
        numbers = request.get("destinations") or [request["destination"]]
        for key, channel in CHANNEL_KEYS.items():
            if request.get(key):
                for number in numbers:
                    yield pytest.param(channel, number, id=f"{name}-{key}-{number}")


def test_every_seed_request_carries_channel_content() -> None:
    requests = dict(seed_requests())

    assert len(requests) == 24
    assert all(any(request.get(key) for key in CHANNEL_KEYS) for request in requests.values())


@pytest.mark.parametrize(("channel", "content"), list(channel_objects()))
def test_seed_channel_object_validates_unchanged(channel: str, content: dict[str, Any]) -> None:
    cleaned = validate_content(channel, content)

    # Nothing is dropped or rewritten, except Viber's `"mediaUrl": ""`, which means "no media".
    expected = {key: value for key, value in content.items() if not (channel == "viber" and value == "")}
    assert cleaned == expected


@pytest.mark.parametrize(("channel", "destination"), list(destinations()))
def test_seed_destination_is_accepted(channel: str, destination: str) -> None:
    normalised = normalise_destination(channel, destination)

    assert normalised.lstrip("+") == destination.lstrip("+")
